#!/usr/bin/env bash
# The command line never lies (issue 19), through the built binaries: a few rows of the
# bad-input table each give their documented exit status and one line on stderr, none hangs
# (every command runs under timeout(1), whose own status 124 would fail the row), and a
# SIGINT ends a run with its summary, trace and last serial bytes written.
set -euo pipefail
cd "$(dirname "$0")/.."
M=.build/release/matryoshka Q=.build/release/matryoshka-qemu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Multiboot ELF32 kernels: the header (magic, flags 3, checksum) at 1 MiB, code from 10000CH
# (the entry), given as hex: exit 5 through isa-debug-exit; CLI+HLT; LIDT of the empty IDT
# descriptor at 100014H then INT3 (triple fault); print "x" on COM1 and spin.
kernel() {   # kernel FILE HEXCODE
    local code=02b0ad1b03000000fb4f52e4$2 hdr
    hdr="7f454c460101010000000000000000000200030001000000""0c001000""340000000000000000000000340020000100280000000000"
    hdr+="01000000000100000000100000001000$(printf '%02x000000%02x000000' $(( ${#code} / 2 )) $(( ${#code} / 2 )))0700000004000000"
    { printf '%s' "$hdr" | xxd -r -p; head -c $(( 256 - ${#hdr} / 2 )) /dev/zero; printf '%s' "$code" | xxd -r -p; } > "$1"
}
kernel "$tmp/exit5.elf" b005e6f4f4
kernel "$tmp/clihlt.elf" faf4
kernel "$tmp/triple.elf" 0f011d14001000cc000000000000
kernel "$tmp/spin.elf" 66baf803b078eeebfe
row() {   # row STATUS "FIRST STDERR LINE PREFIX" COMMAND...
    local want=$1 line=$2 rc; shift 2
    set +e; timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e
    [ "$rc" -eq "$want" ] || { echo "$*: expected exit $want, got $rc"; cat "$tmp/err"; exit 1; }
    [[ "$(head -n1 "$tmp/err")" == "$line"* ]] || { echo "$*: expected stderr '$line…'"; cat "$tmp/err"; exit 1; }
    echo "ok $rc  $*"
}
row 5   "matryoshka: the guest wrote 5 to isa-debug-exit"          $M run "$tmp/exit5.elf"
row 121 "matryoshka: vCPU 0 triple fault at RIP 0x100013"          $M run "$tmp/triple.elf"
row 122 "matryoshka: deadlock: vCPU 0 halted at RIP 0x10000e with interrupts disabled" $M run "$tmp/clihlt.elf" --max-instructions 1000
row 124 "matryoshka: instruction limit reached: 1000 guest"        $M run "$tmp/spin.elf" --max-instructions 1000
row 124 "matryoshka: virtual-time limit reached: 20 ms"            $M run "$tmp/spin.elf" --max-time 20ms
row 64  "matryoshka: invalid memory size '-5'"                     $M run -m -5
row 64  "matryoshka: unknown option '-nographic'"                  $M run "$tmp/exit5.elf" -nographic
row 64  "matryoshka: --cpu max,-lm: CPU feature 'lm' cannot be removed" $M run --cpu max,-lm
row 64  "matryoshka: cannot create exit trace '/nonexistent/x.json'" $M run "$tmp/spin.elf" --exit-trace /nonexistent/x.json
row 65  "matryoshka: cannot read kernel image '$tmp': it is a directory" $M run "$tmp"
row 0   ""                                                         $M run "$tmp/exit5.elf" --help
row 11  ""                                                         $Q -kernel "$tmp/exit5.elf" -device isa-debug-exit,iobase=0xf4,iosize=0x4
row 1   "matryoshka-qemu: -enable-kvm: KVM is not available"       $Q -enable-kvm
row 1   "matryoshka-qemu: -accel nonsense: invalid accelerator"    $Q -accel nonsense
row 1   "matryoshka-qemu: could not load kernel '_NO_FILE_4Uhere_'" $Q -kernel _NO_FILE_4Uhere_
row 0   "matryoshka-qemu: vCPU 0 triple fault"                     $Q -kernel "$tmp/triple.elf" -nographic -no-reboot
# -serial file: captures COM1, as test harnesses use it.
$Q -kernel "$tmp/spin.elf" -machine pc-i440fx-7.2 -serial "file:$tmp/com1.log" 2>"$tmp/err" & pid=$!
sleep 0.5; kill -TERM $pid; set +e; wait $pid; rc=$?; set -e
[ "$rc" -eq 0 ] && [ "$(cat "$tmp/com1.log")" = x ] || { echo "-serial file: rc $rc, log '$(cat "$tmp/com1.log")'"; exit 1; }
grep -qx "matryoshka-qemu: terminating on signal 15" "$tmp/err" || { echo "SIGTERM: not QEMU's line"; cat "$tmp/err"; exit 1; }
# SIGINT: status 130, the unfinished serial line, the reason first, the trace written.
$M run "$tmp/spin.elf" --exit-trace "$tmp/trace.json" >"$tmp/out" 2>"$tmp/err" & pid=$!
sleep 0.5; kill -INT $pid; set +e; wait $pid; rc=$?; set -e
[ "$rc" -eq 130 ] || { echo "SIGINT: expected 130, got $rc"; cat "$tmp/err"; exit 1; }
[ "$(cat "$tmp/out")" = x ] || { echo "SIGINT: the last serial bytes were lost"; exit 1; }
grep -q "^matryoshka: stopped by SIGINT after" "$tmp/err" || { echo "SIGINT: no reason on stderr"; cat "$tmp/err"; exit 1; }
grep -q IO_INSTRUCTION "$tmp/trace.json" || { echo "SIGINT: no exit trace"; exit 1; }
echo "e2e command line: OK"
