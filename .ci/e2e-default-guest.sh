#!/usr/bin/env bash
# The single-level default guest (`export-guest default`, run as L1 alone): it must boot to
# 64-bit mode, compute the prime count, report the CPUID vendor and exit 0 through
# isa-debug-exit — twice, with byte-identical output (deterministic virtual time).
set -euo pipefail
cd "$(dirname "$0")/.."
guest=$(mktemp)
trap 'rm -f "$guest"' EXIT
.build/release/matryoshka export-guest default -o "$guest"
out1=$(.build/release/matryoshka run "$guest" 2>/dev/null)
out2=$(.build/release/matryoshka run "$guest" 2>/dev/null)
echo "$out1"
grep -q "64-bit mode reached" <<<"$out1"
grep -q "Primes below 100000: 9592" <<<"$out1"
grep -q "CPUID vendor: GenuineIntel" <<<"$out1"
[ "$out1" = "$out2" ] || { echo "default guest output differs between runs"; exit 1; }
# L1 runs under VMCS01: its port I/O and CPUID reach L0 as VM exits, which the statistics list.
stats=$(.build/release/matryoshka run "$guest" --exit-statistics 2>&1 >/dev/null)
grep -q "IO_INSTRUCTION (30)" <<<"$stats" || { echo "no I/O exits in the statistics"; echo "$stats"; exit 1; }
grep -q "CPUID (10)" <<<"$stats" || { echo "no CPUID exit in the statistics"; echo "$stats"; exit 1; }
# A malformed image is one line on stderr and exit status 65 (image error).
tmp=$(mktemp)
printf 'not a kernel' > "$tmp"
set +e
.build/release/matryoshka run "$tmp" 2>"$tmp.err"; rc=$?
set -e
rm -f "$tmp"
[ "$rc" -eq 65 ] || { echo "malformed image: expected exit 65, got $rc"; exit 1; }
[ "$(wc -l < "$tmp.err")" -eq 1 ] || { echo "malformed image: expected one line of error"; cat "$tmp.err"; exit 1; }
rm -f "$tmp.err"
# An unknown flag or an out-of-range value is one line and 64 (usage error).
for args in "--bogus" "--profile-interval 0" "-m 0"; do
    set +e
    err=$(.build/release/matryoshka run "$guest" $args 2>&1 >/dev/null); rc=$?
    set -e
    [ "$rc" -eq 64 ] || { echo "run $args: expected exit 64, got $rc"; exit 1; }
    [ "$(wc -l <<<"$err")" -eq 1 ] || { echo "run $args: expected one line of error"; echo "$err"; exit 1; }
done
# The guest profile samples virtual time: the default guest's ~1.4 ms give a dozen samples.
prof=$(.build/release/matryoshka run "$guest" --profile --profile-interval 50 2>&1 >/dev/null)
grep -q "guest profile: [1-9][0-9]* samples" <<<"$prof" || { echo "no guest profile"; echo "$prof"; exit 1; }
echo "e2e default guest: OK"
