#!/usr/bin/env bash
# Issue 20: Debian 12's stock kernel as L1, running its own L2 guests under KVM. Builds its
# artefacts at test time from Debian packages (linux-image-amd64's kernel package and
# busybox-static, fetched with apt-get download into ${XDG_CACHE_HOME:-~/.cache}/matryoshka and
# unpacked with dpkg-deb -x) and the static KVM client in Tools/kvm-client, then boots with
# `matryoshka run`:
#   1. the uncompressed vmlinux through its PVH entry, --cpu max,+vmx, 1 vCPU;
#   2. the same with 2 vCPUs (the client runs one L2 per vCPU at once);
#   3. the compressed bzImage, --cpu max,+vmx, 1 vCPU;
#   4. the vmlinux on the AMD-vendor qemu64 model (no SVM; its PMU must not oops Linux).
# Each run must reach /init, load KVM's modules, power off (exit 0, "the guest powered off (ACPI S5)"), with no
# Oops, BUG or "nobody cared" in the log; the firmware tables must be the ones Linux expects.
# On the Intel model kvm_intel must load with EPT, VPID, unrestricted guest, shadow VMCS and
# nested, the client must print "L2 OK" for as many VMs as vCPUs, and the per-level table must
# show L2's instructions (the client's 64-bit guest alone retires 24 M per VM) and virtual
# VM entries. About a minute on an idle 2-core machine; each run is bounded by --max-time.
set -euo pipefail
cd "$(dirname "$0")/.."
source Tools/linux-guest/lib.sh
matryoshka=.build/release/matryoshka
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch_linux_guest_packages
vmlinux=$(extract_vmlinux)
build_kvm_initramfs "$work/kvm.cpio"
echo "e2e linux-kvm: Debian kernel $KERNEL_VERSION, initramfs $(($(stat -c %s "$work/kvm.cpio") / 1024)) KiB"

failures=0 runs=0
fail() { echo "e2e linux-kvm: FAIL ($1): $2"; failures=$((failures + 1)); }

# boot NAME KERNEL CPU SMP: one run, its log checked; prints the wall times.
boot() {
    local name=$1 kernel=$2 cpu=$3 smp=$4 log=$work/run$((++runs)).log rc=0
    with_wall_time timeout 300 "$matryoshka" run "$kernel" --initrd "$work/kvm.cpio" --append "console=ttyS0" \
        -m 256 --smp "$smp" --cpu "$cpu" --max-time 30s --summary > "$log" || rc=$?
    local at_init at_l2 at_end
    wall() { sed -n "s/^\[ *\([0-9.]*\)\] $1.*/\1/p" "$log" | head -1; }
    at_init=$(wall "matryoshka-e2e: \/init reached")
    at_l2=$(wall "L2 OK")
    at_end=$(tail -1 "$log" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
    echo "e2e linux-kvm: $name: /init at ${at_init:-never} s, L2 OK at ${at_l2:-never} s, exit at $at_end s wall (status $rc)"
    grep -E "L2 (OK|FAILED)|matryoshka-e2e|kvm: |matryoshka: the guest powered off" "$log" | sed "s/^/    /"
    [ "$rc" -eq 0 ] || fail "$name" "exit status $rc"
    grep -q "matryoshka: the guest powered off (ACPI S5)" "$log" || fail "$name" "the run did not end by powering off"
    grep -q "matryoshka-e2e: /init reached" "$log" || fail "$name" "/init was not reached"
    if grep -qE "Oops|BUG:|kernel BUG|nobody cared|Call Trace:" "$log"; then
        fail "$name" "the kernel log has an oops, a BUG or a stack trace:"
        grep -E -A3 "Oops|BUG:|kernel BUG|nobody cared|Call Trace:" "$log" | head -20
    fi
    grep -q "found SMP MP-table at \[mem 0x000f1000" "$log" || fail "$name" "Linux found no MP table"
    grep -q "INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)" "$log" || fail "$name" "no level, active-high SCI override"
    case "$cpu" in
    max,+vmx)
        grep -q "kvm_intel loaded at .* ept=Y vpid=Y unrestricted_guest=Y enable_shadow_vmcs=Y nested=Y" "$log" \
            || fail "$name" "kvm_intel did not load with EPT, VPID, unrestricted guest, shadow VMCS and nested"
        local vms="$smp VM"; [ "$smp" -eq 1 ] || vms="$smp VMs"
        grep -q "^\[.*\] L2 OK ($vms," "$log" || fail "$name" "no \"L2 OK ($vms, ...)\" from the KVM client"
        grep -q "L2 FAILED" "$log" && fail "$name" "the KVM client reported a failure"
        grep -q "matryoshka-e2e: kvm-client finished (status 0)" "$log" || fail "$name" "the KVM client did not exit 0"
        # The per-level table (--summary): L2 really ran nested, once per VM.
        local l2 entries
        l2=$(sed -n 's/^\[[ 0-9.]*\] L2  *\([0-9,]*\) .*/\1/p' "$log" | tr -d , | head -1)
        entries=$(sed -n 's/.* \([0-9,]*\) virtual VM entries (L1 → L2).*/\1/p' "$log" | tr -d , | head -1)
        [ "${l2:-0}" -ge $((24000000 * smp)) ] || fail "$name" "L2 retired ${l2:-no} instructions, expected at least $((24000000 * smp))"
        [ "${entries:-0}" -ge $((2 * smp)) ] || fail "$name" "${entries:-no} virtual VM entries"
        echo "    L2: ${l2:-?} instructions, ${entries:-?} virtual VM entries" ;;
    qemu64)
        # No SVM is offered: kvm_amd cannot load, which is expected here.
        grep -q "no hardware support for 'kvm_amd'" "$log" || fail "$name" "kvm_amd did not report the missing SVM"
        grep -q "Performance Events: AMD PMU driver" "$log" || fail "$name" "Linux did not use the AMD PMU" ;;
    esac
    [ "$failures" -eq 0 ] || { echo "--- $name log (last 60 lines)"; tail -60 "$log"; }
}

boot "vmlinux (PVH), 1 vCPU" "$vmlinux" max,+vmx 1
boot "vmlinux (PVH), 2 vCPUs" "$vmlinux" max,+vmx 2
boot "bzImage, 1 vCPU" "$BZIMAGE" max,+vmx 1
boot "vmlinux (PVH), AMD qemu64" "$vmlinux" qemu64 1
[ "$failures" -eq 0 ] || { echo "e2e linux-kvm: $failures failure(s)"; exit 1; }
echo "e2e linux-kvm: OK"
