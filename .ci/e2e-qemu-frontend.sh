#!/usr/bin/env bash
# matryoshka-qemu, the front end kvm-unit-tests' run_tests.sh drives: the default guest
# exported as a Multiboot ELF boots with the flags x86/run passes and exits with QEMU's
# isa-debug-exit status (value << 1) | 1; bad input is one line on stderr and exit status 1,
# as QEMU exits on a bad option or an unloadable kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
Q=.build/release/matryoshka-qemu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.build/release/matryoshka export-guest -o "$tmp/guest.elf"
set +e
out=$($Q -nodefaults -device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 -display none \
      -serial stdio -machine accel=tcg -kernel "$tmp/guest.elf" -smp 1 -cpu max --no-reboot 2>"$tmp/err"); rc=$?
set -e
grep -q "Primes below 100000: 9592" <<<"$out" || { echo "default guest did not run"; echo "$out"; cat "$tmp/err"; exit 1; }
[ "$rc" -eq 1 ] || { echo "isa-debug-exit 0: expected QEMU's status 1, got $rc"; exit 1; }
$Q -device '?' | grep -q '^name "isa-debug-exit", bus ISA' || { echo "-device ? does not list isa-debug-exit"; exit 1; }
printf 'not a kernel' > "$tmp/bad"
head -c 300 "$tmp/guest.elf" > "$tmp/truncated"
for args in "-kernel $tmp/missing" "-kernel $tmp/bad" "-kernel $tmp/truncated" "-kernel $tmp/guest.elf -m 0" \
            "-kernel $tmp/guest.elf -bogus" "-kernel $tmp/guest.elf -smp 0" "-kernel $tmp/guest.elf -cpu bogus"; do
    set +e
    $Q -display none $args >/dev/null 2>"$tmp/err"; rc=$?
    set -e
    [ "$rc" -eq 1 ] || { echo "matryoshka-qemu $args: expected exit 1, got $rc"; cat "$tmp/err"; exit 1; }
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || { echo "matryoshka-qemu $args: expected one line of error"; cat "$tmp/err"; exit 1; }
done
echo "e2e qemu front end: OK"
