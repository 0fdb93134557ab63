#!/usr/bin/env bash
# The bundled guest hypervisor (Guests/Hypervisor, docs/GUEST_HYPERVISOR.md): `export-guest
# hypervisor` writes it; Matryoshka boots it (without VMX for L1 — `--cpu max` — it must say so
# and exit 1; with nested VMX — `--cpu max,+vmx` — it must print both L2 guests' answers and
# power off, identically twice, and with two vCPUs too); and, where Debian's Bochs and GRUB are
# installed, Bochs 2.7 (corei7_skylake_x, VMX) runs it with 1 and 2 CPUs and each L2 guest
# prints exactly the lines in guest-hypervisor-expected.sh. BOCHS_LOG=DIR keeps Bochs's transcripts there.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/matryoshka export-guest hypervisor -o "$work/l1.elf"

. .ci/guest-hypervisor-expected.sh

set +e
novmx=$(.build/release/matryoshka run "$work/l1.elf" --cpu max 2>/dev/null); rc0=$?
out1=$(.build/release/matryoshka run "$work/l1.elf" --cpu max,+vmx 2>/dev/null); rc1=$?
out2=$(.build/release/matryoshka run "$work/l1.elf" --cpu max,+vmx 2>/dev/null); rc2=$?
smp2=$(.build/release/matryoshka run "$work/l1.elf" --cpu max,+vmx --smp 2 2>/dev/null); rc3=$?
set -e
grep -q "this processor has no VMX" <<<"$novmx" && [ "$rc0" -eq 1 ] \
    || { echo "without VMX: expected L1's 'no VMX' and exit 1, got $rc0"; echo "$novmx"; exit 1; }
echo "$out1"
[ "$rc1" -eq 0 ] || { echo "matryoshka run --cpu max,+vmx: expected exit 0, got $rc1"; exit 1; }
check_guests "$out1" "matryoshka"
[ "$out1" = "$out2" ] && [ "$rc1" = "$rc2" ] || { echo "the two runs differ"; exit 1; }
[ "$rc3" -eq 0 ] || { echo "matryoshka run --smp 2: expected exit 0, got $rc3"; echo "$smp2"; exit 1; }
check_guests "$smp2" "matryoshka with 2 vCPUs"

if ! command -v bochs >/dev/null || ! command -v grub-mkrescue >/dev/null \
        || [ ! -e /usr/share/bochs/BIOS-bochs-latest ] || [ ! -e /usr/share/vgabios/vgabios.bin ]; then
    echo "e2e guest hypervisor: OK (Bochs part skipped: apt-get install bochs bochsbios vgabios bochs-term grub-pc-bin xorriso mtools)"
    exit 0
fi
mkdir -p "$work/iso/boot/grub"
cp "$work/l1.elf" "$work/iso/boot/l1.elf"
printf 'set timeout=0\nset default=0\nmenuentry "matryoshka-l1" {\n multiboot /boot/l1.elf\n boot\n}\n' \
    > "$work/iso/boot/grub/grub.cfg"
grub-mkrescue -o "$work/l1.iso" "$work/iso" >/dev/null 2>&1
for cpus in 1 2; do
    cat > "$work/bochsrc" <<RC
megs: 128
cpu: model=corei7_skylake_x, count=$cpus
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/l1.iso, status=inserted
boot: cdrom
pci: enabled=1, chipset=i440fx
com1: enabled=1, mode=file, dev=$work/serial-$cpus.txt
display_library: term
log: /dev/null
RC
    # Debian's Bochs has its debugger built in: continue, and quit when the simulation ends
    # (the ACPI S5 write ends it).
    (cd "$work" && printf 'c\nquit\n' | timeout 600 bochs -q -f bochsrc >/dev/null 2>&1) || true
    transcript=$(tr -d '\r' < "$work/serial-$cpus.txt")
    echo "== Bochs, $cpus CPU(s)"
    echo "$transcript"
    [ -z "${BOCHS_LOG:-}" ] || cp "$work/serial-$cpus.txt" "$BOCHS_LOG/bochs-$cpus.txt"
    check_guests "$transcript" "Bochs with $cpus CPU(s)"
done
echo "e2e guest hypervisor: OK"
