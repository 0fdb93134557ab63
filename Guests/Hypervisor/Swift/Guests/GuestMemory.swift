/// An L2 guest's memory, as EPT maps it (SDM Vol. 3C §29.3).
enum GuestMemory {
    static let pageSize: UInt64 = 4096

    /// Maps guest-physical [0, mappedBytes) onto fresh contiguous pages of L1 memory, copies the
    /// image to its load address there and builds the EPT pointer.
    static func create(_ g: inout Guest) {
        let d = g.definition
        g.image = L2Image(index: d.image)
        guard g.image.load + g.image.size <= d.mappedBytes else {
            Console.line {
                Console.put("L1: the image of ")
                Console.put(d.name)
                Console.put(" does not fit the guest's mapped memory\n")
            }
            PowerOff.failure()
        }
        g.ept = EPT.create()
        g.eptp = g.ept.pointer(memoryType: ControlSettings.chosen.eptMemoryType)
        let host = PageAllocator.allocate(pages: d.mappedBytes / pageSize)
        var gpa: UInt64 = 0
        while gpa < d.mappedBytes {
            g.ept.map(gpa, to: host + gpa)
            gpa += pageSize
        }
        Physical.copy(to: host + g.image.load, from: UnsafeRawPointer(bitPattern: UInt(g.image.start))!,
                      count: Int(g.image.size))
    }

    /// SDM Vol. 3C §29.3.3.2 ("EPT Violations"), §28.2.1 (Table 28-7, the exit qualification):
    /// an access to a guest-physical page EPT does not map. Inside the guest's lazy region the
    /// page gets fresh zeroed memory and the access is retried; no INVEPT is needed, because a
    /// not-present entry is never cached (§29.4.1). Returns false for any other violation.
    static func handleViolation(_ g: UnsafeMutablePointer<Guest>) -> Bool {
        let gpa = VMX.read(.guestPhysicalAddress)
        let d = g.pointee.definition
        guard gpa >= d.lazyStart && gpa < d.lazyEnd, g.pointee.ept.translate(gpa) == nil else { return false }
        g.pointee.ept.map(gpa & ~(pageSize - 1), to: PageAllocator.allocate())
        g.pointee.lazyPages += 1
        return true
    }
}
