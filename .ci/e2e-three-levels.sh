#!/usr/bin/env bash
# Issue 18's demo, the README's main command: `matryoshka run` without an image runs the bundled
# guest hypervisor (L1) under nested VMX. Both L2 guests print their answers, L1 powers off
# (exit status 0) and the run ends with the per-level table — twice, identically: the same
# output, the same table (instructions, exits, virtual time; the wall time aside) and the same
# trace file. The instructions per level add up to the total; the trace has a track per level
# and `trace-view` draws it; with two vCPUs the guests answer too.
set -euo pipefail
cd "$(dirname "$0")/.."
M=.build/release/matryoshka
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. .ci/guest-hypervisor-expected.sh

for k in 1 2; do
    set +e; $M run --exit-trace "$tmp/trace$k.json" >"$tmp/out$k" 2>"$tmp/err$k"; rc=$?; set -e
    [ "$rc" -eq 0 ] || { echo "run $k: expected exit status 0, got $rc"; cat "$tmp/out$k" "$tmp/err$k"; exit 1; }
done
cat "$tmp/out1" "$tmp/err1"
check_guests "$(cat "$tmp/out1")" "matryoshka run"
cmp -s "$tmp/out1" "$tmp/out2" || { echo "the two runs printed different output"; diff "$tmp/out1" "$tmp/out2"; exit 1; }
sed 's/  wall time .*//' "$tmp/err1" > "$tmp/table1"
sed 's/  wall time .*//' "$tmp/err2" > "$tmp/table2"
cmp -s "$tmp/table1" "$tmp/table2" || { echo "the two runs' tables differ"; diff "$tmp/table1" "$tmp/table2"; exit 1; }
cmp -s "$tmp/trace1.json" "$tmp/trace2.json" || { echo "the two runs' traces differ"; exit 1; }

# The table: a row per level, the exits by reason, virtual VM entries; L1 + L2 = all instructions.
for row in '^per level — ' '^L2 .* handled by L0 alone, [0-9,]* reflected to L1$' '^L1 .* to L0$' \
           '^L0 .* virtual VM entries (L1 → L2)$' '^all ' '^VM exits by reason' '^  VMRESUME (24) ' \
           '^  EPT_VIOLATION (48) ' '^  total '; do
    grep -q "$row" "$tmp/table1" || { echo "the per-level table has no line matching '$row'"; exit 1; }
done
count() { awk -v level="$1" '$1 == level { gsub(",", "", $2); print $2 }' "$tmp/table1"; }
l1=$(count L1) l2=$(count L2) all=$(count all)
[ "$l2" -gt "$l1" ] && [ "$l1" -gt 0 ] && [ $((l1 + l2)) -eq "$all" ] \
    || { echo "instructions per level: L1 $l1 + L2 $l2 != all $all"; exit 1; }

# The trace: a thread per level, L0's spans named by their exits, reflected ones marked.
for needle in '"name":"L2 guests"' '"name":"L1 guest (hypervisor)"' '"name":"L0 Matryoshka (exit handling)"' \
              '"name":"L2 VPID 1"' '"name":"L2 VPID 2"' '"name":"VMRESUME"' '"exit":"L2 exit, reflected to L1"' \
              '"exit":"L2 exit, handled by L0 alone"'; do
    grep -qF "$needle" "$tmp/trace1.json" || { echo "the trace has no $needle"; exit 1; }
done
$M trace-view "$tmp/trace1.json" -o "$tmp/trace.html"
grep -q '<svg' "$tmp/trace.html" && grep -q 'L2 VPID 2 running' "$tmp/trace.html" \
    || { echo "trace-view drew no timeline"; exit 1; }

# Two vCPUs: one guest per CPU, the same answers.
set +e; out=$($M run --smp 2 2>"$tmp/err"); rc=$?; set -e
[ "$rc" -eq 0 ] || { echo "run --smp 2: expected exit status 0, got $rc"; echo "$out"; cat "$tmp/err"; exit 1; }
check_guests "$out" "matryoshka run --smp 2"
grep -q "^L2 " "$tmp/err" || { echo "run --smp 2: no per-level table"; cat "$tmp/err"; exit 1; }
echo "e2e three levels: OK"
