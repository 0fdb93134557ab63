#!/usr/bin/env bash
# Renders Matryoshka's L0/L1/L2 timeline as a picture, offline: runs `matryoshka run
# --exit-trace` (the three-level demo by default), draws the trace with `matryoshka trace-view`
# (a static HTML page of SVG timelines) and screenshots the page with Debian's headless Chromium
# (`apt-get install chromium`).
#
#   Tools/trace-view/render.sh OUT.png [trace-view options ...] [-- run arguments ...]
#
# e.g. Tools/trace-view/render.sh docs/three-levels-timeline.png           (the README's picture)
#      Tools/trace-view/render.sh smp2.png --zoom 3000-3010 -- --smp 2
# MATRYOSHKA=path picks the binary (default .build/release/matryoshka); KEEP=DIR keeps the
# trace and the page there.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,12p "$0"; exit 64; }
out=$(realpath -m "$1"); shift
view=() run=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do view+=("$1"); shift; done
[ $# -gt 0 ] && shift
run=("$@")
cd "$(dirname "$0")/../.."
M=${MATRYOSHKA:-.build/release/matryoshka}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "render.sh: no chromium (apt-get install chromium)"; exit 69; }
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

"$M" run "${run[@]}" --exit-trace "$work/trace.json" >"$work/serial.txt" 2>"$work/stderr.txt" \
    || { echo "render.sh: matryoshka run failed"; cat "$work/stderr.txt"; exit 1; }
"$M" trace-view "$work/trace.json" -o "$work/trace.html" "${view[@]}"
# The page says how tall it is; its width is trace-view's --width (1600) plus the margins.
height=$(sed -n 's/.*<meta name="page-height" content="\([0-9]*\)".*/\1/p' "$work/trace.html")
width=$(( $(sed -n 's/.*width: \([0-9]*\)px.*/\1/p' "$work/trace.html" | head -n1) + 40 ))
# --no-sandbox: Chromium refuses to run its sandbox as root (CI and these machines run as root).
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$width,${height:-800}" --screenshot="$out" "file://$(realpath "$work/trace.html")" >/dev/null 2>&1
[ -s "$out" ] || { echo "render.sh: chromium wrote no picture"; exit 1; }
echo "$out"
