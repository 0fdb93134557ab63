#!/usr/bin/env bash
# Issue 20's real-VMM case, outside CI (it takes minutes): QEMU from Debian's qemu-system-x86
# package runs with -enable-kvm inside L1 and boots the same Debian kernel as L2 to its /init,
# which powers L2 off; then L1 powers off.
#
#   Tools/linux-guest/qemu-in-l1.sh [matryoshka|qemu-tcg] [extra options for the outer VMM]
#
# matryoshka (default): L1 = the bzImage on `.build/release/matryoshka run --cpu max`; needs
# nested VMX. qemu-tcg: L1 on qemu-system-x86_64 -accel tcg -cpu max (AMD SVM, kvm_amd), the
# software reference. The QEMU binary's shared libraries are taken from this host with ldd
# (so the host needs qemu-system-x86's dependencies installed: Debian 12, as CI's image),
# its firmware from the seabios and qemu-system-data packages. Prints wall times of the
# milestones and, on Matryoshka, L0's exit statistics.
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
for rom in linuxboot_dma.bin kvmvapic.bin; do cp "$data_root/usr/share/qemu/$rom" "$extra/usr/share/qemu/"; done
cp "$BZIMAGE" "$extra/boot/vmlinuz"

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
    with_wall_time .build/release/matryoshka run "$BZIMAGE" --initrd "$work/l1.cpio" --append "console=ttyS0" \
        -m 1024 --cpu max,+vmx --summary --exit-statistics "$@" | tee "$work/run.log" ;;
qemu-tcg)
    with_wall_time qemu-system-x86_64 -accel tcg -cpu max -m 1024 -nographic -no-reboot -kernel "$BZIMAGE" \
        -initrd "$work/l1.cpio" -append "console=ttyS0" "$@" | tee "$work/run.log" ;;
*) die "outer VMM must be matryoshka or qemu-tcg" ;;
esac
grep -q "L2: /init reached" "$work/run.log" || die "qemu-in-l1: L2 did not reach /init"
echo "qemu-in-l1: L2 reached /init at $(sed -n 's/^\[ *\([0-9.]*\)\] L2: \/init reached.*/\1/p' "$work/run.log") s wall"
