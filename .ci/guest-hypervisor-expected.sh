# Sourced by the e2e scripts that run the bundled guest hypervisor (not run by itself): the
# lines each L2 guest prints, the same on every host (docs/GUEST_HYPERVISOR.md), and
# check_guests, which holds a transcript against them.
expected_collatz16='real mode, CS=0100h: longest Collatz chains, 32-bit arithmetic
longest Collatz chain below 10: 9 (19 steps)
longest Collatz chain below 100: 97 (118 steps)
longest Collatz chain below 1000: 871 (178 steps)
longest Collatz chain below 10000: 6171 (261 steps)
longest Collatz chain below 100000: 77031 (350 steps)
done'
expected_sieve64='64-bit mode, paging on; CPUID, #PF, #GP and an EPT-backed sieve
CPUID.40000000h: "MatryoshkaL1", hypervisor bit 1
#PF at 40000000h handled by the guest: mapped to 800000h, value read back intact
RDMSR 1Bh: #GP injected by L1, handled by the guest
primes below 2000000: 148933, their sum: 142913828922
done'

# $1: transcript, $2: where it came from. Each guest's lines, in order, must be the expected ones.
check_guests() {
    for guest in collatz16 sieve64; do
        local want="expected_$guest"
        local got
        got=$(tr -d '\r' <<<"$1" | sed -n "s/^\[$guest\] //p")
        [ "$got" = "${!want}" ] || { echo "$2: $guest printed:"; echo "$got"; echo "expected:"; echo "${!want}"; exit 1; }
    done
    grep -q "L1: powering off (ACPI S5" <<<"$1" || { echo "$2: no ACPI power-off"; echo "$1"; exit 1; }
}
