/// L1's account of its guests at the end: per L2, the VM exits L1 handled by basic exit reason,
/// the time slices it got, the pages mapped on EPT violations and the status it ended with.
enum ExitStatistics {
    static func report() {
        Console.line {
            Console.put("L1: VM exits handled by L1, per L2 guest:\n")
            for i in 0..<Guests.count {
                let g = Guests.guest(i).pointee
                Console.put("L1:   ")
                Console.put(g.name)
                Console.put(" (CPU ")
                Console.decimal(UInt64(g.cpu))
                Console.put(", VPID ")
                Console.decimal(UInt64(g.vpid))
                Console.put("): ")
                Console.decimal(g.totalExits)
                Console.put(" exits, ")
                Console.decimal(g.slices)
                Console.put(" time slices, ")
                Console.decimal(g.lazyPages)
                Console.put(" pages mapped on EPT violations, status ")
                Console.decimal(UInt64(g.status))
                Console.put(10)
                for r in 0..<ExitReason.count where g.exits[r] != 0 {
                    Console.put("L1:     ")
                    let name = ExitReason.name(UInt32(r))
                    Console.put(name)
                    pad(36 - name.utf8CodeUnitCount - digits(UInt64(g.exits[r])))
                    Console.decimal(UInt64(g.exits[r]))
                    Console.put(10)
                }
            }
        }
    }

    static func digits(_ v: UInt64) -> Int { v < 10 ? 1 : 1 + digits(v / 10) }

    static func pad(_ n: Int) { if n > 0 { for _ in 0..<n { Console.put(32) } } }
}
