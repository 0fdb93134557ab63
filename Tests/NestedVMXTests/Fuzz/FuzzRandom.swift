import TestSupport

/// The fuzz's random source: SplitMix64 (Steele, Lea, Flood 2014), seeded, so a failing case
/// reproduces from the seed and case number the report prints. Every helper draws from `next`
/// only, in a fixed order, so a run is a pure function of its seed.
struct FuzzRandom {
    private var source: SplitMix64

    init(seed: UInt64) { source = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { source.next() }

    /// A value in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }

    /// True with probability `numerator` / `denominator`.
    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }

    mutating func pick<T>(_ options: [T]) -> T { options[below(options.count)] }

    /// One of `options` by relative weight.
    mutating func weighted<T>(_ options: [(Int, T)]) -> T {
        var k = below(options.reduce(0) { $0 + $1.0 })
        for (w, v) in options {
            if k < w { return v }
            k -= w
        }
        return options[options.count - 1].1
    }

    /// A 64-bit value biased towards the ones that break things: 0, all ones, single bits,
    /// small numbers, sign boundaries, or anything.
    mutating func interesting() -> UInt64 {
        switch below(8) {
        case 0: return 0
        case 1: return ~0
        case 2: return 1 << UInt64(below(64))
        case 3: return UInt64(below(16))
        case 4: return pick([0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000])
        case 5: return next() & 0xFFFF
        case 6: return next() & 0xFFFF_FFFF
        default: return next()
        }
    }

    /// `value` with one to three random bits flipped.
    mutating func flipBits(_ value: UInt64, width: Int = 64) -> UInt64 {
        var v = value
        for _ in 0...below(3) { v ^= 1 << UInt64(below(width)) }
        return v
    }
}
