#!/usr/bin/env bash
# Issue 20's real-VMM case, outside CI (it takes minutes): QEMU from Debian's qemu-system-x86
# package runs with -enable-kvm inside L1 and boots the same Debian kernel as L2 to its /init,
# which powers L2 off; then L1 powers off.
#
#   Tools/linux-guest/qemu-in-l1.sh [matryoshka|qemu-tcg] [extra options for the outer VMM]
#
# matryoshka (default): L1 on `.build/release/matryoshka run --cpu max,+vmx` (nested VMX,
# kvm_intel). qemu-tcg: L1 on qemu-system-x86_64 -accel tcg -cpu max (AMD SVM, kvm_amd), the
# software reference. L1 and L2 boot the compressed bzImage (each decompresses it: 4.6 G
# instructions); with QEMU_IN_L1_KERNEL=vmlinux both boot the same kernel's ELF vmlinux through
# its PVH entry instead (the L1 initramfs then carries the 63-MiB vmlinux). The QEMU binary's
# shared libraries are taken from this host with ldd (so the host needs qemu-system-x86's
# dependencies installed: Debian 12, as CI's image), its firmware from the seabios and
# qemu-system-data packages. Prints wall times of the milestones and, on Matryoshka, L0's
# per-level exit statistics; fails unless L2 reached /init, QEMU exited 0 and L1 powered off.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/linux-guest/lib.sh
outer=${1:-matryoshka}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch_linux_guest_packages
qemu_root=$(debian_package qemu-system-x86)
data_root=$(debian_package qemu-system-data)
bios_root=$(debian_package seabios)
qemu=$qemu_root/usr/bin/qemu-system-x86_64
[ -x "$qemu" ] || die "no usr/bin/qemu-system-x86_64 in $qemu_root"

extra=$work/extra
mkdir -p "$extra"/{bin,boot,lib64,lib/x86_64-linux-gnu,usr/share/qemu}
cp "$qemu" "$extra/bin/qemu-system-x86_64"
missing=$(ldd "$qemu" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || die "shared libraries of qemu-system-x86_64 missing on this host: $missing (apt-get install qemu-system-x86)"
for lib in $(ldd "$qemu" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    case "$lib" in
    */ld-linux-x86-64.so.2) cp -L "$lib" "$extra/lib64/ld-linux-x86-64.so.2" ;;
    *) cp -L "$lib" "$extra/lib/x86_64-linux-gnu/" ;;
    esac
done
cp "$bios_root/usr/share/seabios/bios-256k.bin" "$extra/usr/share/qemu/"
for rom in linuxboot_dma.bin kvmvapic.bin pvh.bin; do cp "$data_root/usr/share/qemu/$rom" "$extra/usr/share/qemu/"; done
case "${QEMU_IN_L1_KERNEL:-bzimage}" in
bzimage) l1_kernel=$BZIMAGE; cp "$BZIMAGE" "$extra/boot/vmlinuz" ;;
vmlinux) l1_kernel=$(extract_vmlinux); cp "$l1_kernel" "$extra/boot/vmlinuz" ;;
*) die "QEMU_IN_L1_KERNEL must be bzimage or vmlinux" ;;
esac

# L2's initramfs: busybox and an /init that reports and powers off.
l2=$work/l2
mkdir -p "$l2"/{bin,proc}
cp "$BUSYBOX" "$l2/bin/busybox"
cat > "$l2/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox echo "L2: /init reached at $(/bin/busybox cut -d' ' -f1 /proc/uptime) s (L2 guest time)"
/bin/busybox poweroff -f
EOF
chmod +x "$l2/init"
(cd "$l2" && find . | "$BUSYBOX" cpio -o -H newc > "$extra/boot/l2.cpio" 2>/dev/null)

cat > "$extra/bin/l1-payload" <<'EOF'
#!/bin/sh
# qemu-system-x86_64 -enable-kvm
mkdir -p /tmp /var/tmp /dev/shm
exec /bin/qemu-system-x86_64 -enable-kvm -cpu host -m 256 -smp 1 -L /usr/share/qemu \
    -nodefaults -display none -serial stdio -no-reboot \
    -kernel /boot/vmlinuz -initrd /boot/l2.cpio -append "console=ttyS0 quiet"
EOF
chmod +x "$extra/bin/l1-payload"
build_kvm_initramfs "$work/l1.cpio" "$extra"
echo "qemu-in-l1: L1 initramfs $(($(stat -c %s "$work/l1.cpio") / 1048576)) MiB, outer VMM: $outer"

case "$outer" in
matryoshka)
    with_wall_time .build/release/matryoshka run "$l1_kernel" --initrd "$work/l1.cpio" --append "console=ttyS0" \
        -m 1024 --cpu max,+vmx --summary --exit-statistics "$@" | tee "$work/run.log" ;;
qemu-tcg)
    with_wall_time qemu-system-x86_64 -accel tcg -cpu max -m 1024 -nographic -no-reboot -kernel "$l1_kernel" \
        -initrd "$work/l1.cpio" -append "console=ttyS0" "$@" | tee "$work/run.log" ;;
*) die "outer VMM must be matryoshka or qemu-tcg" ;;
esac
grep -q "L2: /init reached" "$work/run.log" || die "qemu-in-l1: L2 did not reach /init"
grep -q "matryoshka-e2e: qemu-system-x86_64 -enable-kvm finished (status 0)" "$work/run.log" \
    || die "qemu-in-l1: QEMU in L1 did not exit 0"
if [ "$outer" = matryoshka ]; then
    grep -q "matryoshka: the guest powered off (ACPI S5)" "$work/run.log" || die "qemu-in-l1: L1 did not power off"
fi
echo "qemu-in-l1: L2 reached /init at $(sed -n 's/^\[ *\([0-9.]*\)\] L2: \/init reached.*/\1/p' "$work/run.log") s wall"
