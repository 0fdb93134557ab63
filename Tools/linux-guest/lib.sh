# Shared by .ci/e2e-linux-kvm.sh and Tools/linux-guest/*.sh (source it from bash): fetches
# Debian's packages into a cache outside the repository (apt-get download + dpkg-deb -x,
# nothing installed), extracts the ELF vmlinux from the bzImage, builds the static KVM client
# and the initramfs. Nothing here is committed kernel or package content.

MATRYOSHKA_CACHE=${MATRYOSHKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/matryoshka}
DEBIAN_CACHE=$MATRYOSHKA_CACHE/debian
LINUX_GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LINUX_GUEST_DIR/../.." && pwd)

die() { echo "$*" >&2; exit 1; }

# The .deb file name apt would download for package $1 (empty when apt knows no such package).
debian_deb_name() {
    apt-get download --print-uris "$1" 2>/dev/null | awk 'NR == 1 { print $2 }'
}

# Downloads package $1 into the cache once and unpacks it; prints the unpacked root. Offline,
# the newest cached copy of the package is used.
debian_package() {
    local name=$1 deb root
    mkdir -p "$DEBIAN_CACHE" || die "cannot create the cache directory $DEBIAN_CACHE"
    deb=$(debian_deb_name "$name")
    if [ -n "$deb" ] && [ ! -s "$DEBIAN_CACHE/$deb" ]; then
        echo "fetching $name ($deb) into $DEBIAN_CACHE" >&2
        (cd "$DEBIAN_CACHE" && apt-get download "$name" >/dev/null 2>&1) \
            || die "apt-get download $name failed (network, or apt lists missing: run apt-get update)"
    fi
    if [ -z "$deb" ]; then
        deb=$(cd "$DEBIAN_CACHE" && ls -t "${name}"_*.deb 2>/dev/null | head -1)
        [ -n "$deb" ] || die "apt knows no package $name and none is cached in $DEBIAN_CACHE (run apt-get update; Debian 12 sources needed)"
    fi
    [ -s "$DEBIAN_CACHE/$deb" ] || die "$DEBIAN_CACHE/$deb is missing after the download"
    root=$DEBIAN_CACHE/root-${deb%.deb}
    if [ ! -e "$root/.unpacked" ]; then
        rm -rf "$root.tmp"
        dpkg-deb -x "$DEBIAN_CACHE/$deb" "$root.tmp" || die "dpkg-deb -x $deb failed"
        rm -rf "$root" && mv "$root.tmp" "$root" && touch "$root/.unpacked"
    fi
    echo "$root"
}

# The kernel package linux-image-amd64 depends on (e.g. linux-image-6.1.0-57-amd64).
debian_kernel_package() {
    local p
    p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    if [ -z "$p" ]; then
        p=$(cd "$DEBIAN_CACHE" 2>/dev/null && ls -t linux-image-[0-9]*.deb 2>/dev/null | head -1 | cut -d_ -f1)
    fi
    [ -n "$p" ] || die "cannot resolve the kernel package of linux-image-amd64 (run apt-get update)"
    echo "$p"
}

# Sets KERNEL_ROOT, KERNEL_VERSION, BZIMAGE, MODULES_DIR and BUSYBOX.
fetch_linux_guest_packages() {
    KERNEL_ROOT=$(debian_package "$(debian_kernel_package)") || exit 1
    BZIMAGE=$(ls "$KERNEL_ROOT"/boot/vmlinuz-* 2>/dev/null | head -1)
    [ -n "$BZIMAGE" ] || die "no boot/vmlinuz-* in $KERNEL_ROOT"
    KERNEL_VERSION=${BZIMAGE##*/vmlinuz-}
    MODULES_DIR=$KERNEL_ROOT/lib/modules/$KERNEL_VERSION/kernel
    [ -d "$MODULES_DIR" ] || die "no modules in $MODULES_DIR"
    local bb
    bb=$(debian_package busybox-static) || exit 1
    BUSYBOX=$bb/bin/busybox
    [ -x "$BUSYBOX" ] || die "no bin/busybox in $bb"
}

# The ELF vmlinux inside the bzImage (its payload is an XZ stream, CONFIG_KERNEL_XZ), cached;
# prints its path.
extract_vmlinux() {
    local out=$MATRYOSHKA_CACHE/vmlinux-$KERNEL_VERSION offset
    if [ ! -s "$out" ]; then
        offset=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$BZIMAGE" | head -1 | cut -d: -f1)
        [ -n "$offset" ] || die "no XZ stream in $BZIMAGE (only XZ-compressed kernels are handled)"
        tail -c +$((offset + 1)) "$BZIMAGE" | xz -dc --single-stream > "$out.tmp" 2>/dev/null
        [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "the XZ payload of $BZIMAGE is not an ELF file"
        mv "$out.tmp" "$out"
    fi
    echo "$out"
}

# Builds the static KVM client into $1.
build_kvm_client() {
    gcc -static -O2 -pthread -Wall -o "$1" "$REPO_ROOT/Tools/kvm-client/kvm-client.c" || die "building kvm-client failed"
}

# The path of kernel module $1 (a module name, '-' or '_').
module_path() {
    local f
    f=$(find "$MODULES_DIR" \( -name "$1.ko" -o -name "${1//_/-}.ko" -o -name "${1//-/_}.ko" \) -print -quit)
    [ -n "$f" ] || die "kernel module $1 not found under $MODULES_DIR"
    echo "$f"
}

# Module $1 and everything it depends on (its .modinfo "depends=" list), dependencies first.
module_load_order() {
    local f deps d
    f=$(module_path "$1") || exit 1
    deps=$(LC_ALL=C grep -a -o 'depends=[^[:cntrl:]]*' "$f" | head -1 | cut -d= -f2 | tr , ' ')
    for d in $deps; do module_load_order "$d"; done
    basename "$f" .ko
}

# Writes the /init script of the KVM test initramfs to $1. Once KVM is loaded it runs
# /bin/l1-payload (a script whose second line is "# NAME").
write_kvm_init() {
    cat > "$1" <<'EOF'
#!/bin/busybox sh
# Matryoshka's Linux KVM test (built by Tools/linux-guest/lib.sh): load KVM for this
# processor's vendor with its default parameters, run /bin/l1-payload (by default the KVM
# client on every vCPU), power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
uptime() { cut -d' ' -f1 /proc/uptime; }
echo "matryoshka-e2e: /init reached at $(uptime) s (guest time)"
vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' /proc/cpuinfo)
case "$vendor" in
GenuineIntel) list=/etc/kvm-modules-intel; module=kvm_intel; params="ept vpid unrestricted_guest enable_shadow_vmcs nested" ;;
AuthenticAMD) list=/etc/kvm-modules-amd; module=kvm_amd; params="npt nested" ;;
*) echo "matryoshka-e2e: unknown vendor '$vendor'"; poweroff -f ;;
esac
for m in $(cat $list); do
    insmod /lib/modules/$m.ko || { echo "matryoshka-e2e: insmod $m failed"; break; }
done
if [ -c /dev/kvm ]; then
    p=""
    for n in $params; do p="$p $n=$(cat /sys/module/$module/parameters/$n 2>/dev/null)"; done
    echo "matryoshka-e2e: $module loaded at $(uptime) s:$p"
    /bin/l1-payload
    rc=$?
    echo "matryoshka-e2e: $(sed -n '2s/^# //p' /bin/l1-payload) finished (status $rc) at $(uptime) s"
else
    echo "matryoshka-e2e: no /dev/kvm: $module did not load"
fi
poweroff -f
EOF
    chmod +x "$1"
}

# Builds the KVM test initramfs (busybox, the KVM modules for both vendors, the client) into
# $1 (a newc cpio archive). $2, optional: a directory whose contents are added on top (e.g.
# another /bin/l1-payload).
build_kvm_initramfs() {
    local out=$1 extra=${2:-} tree
    tree=$(mktemp -d) || exit 1
    mkdir -p "$tree"/{bin,dev,proc,sys,tmp,etc,lib/modules}
    cp "$BUSYBOX" "$tree/bin/busybox"
    build_kvm_client "$tree/bin/kvm-client"
    local intel amd m
    intel=$(module_load_order kvm_intel | awk '!seen[$0]++') || exit 1
    amd=$(module_load_order kvm_amd | awk '!seen[$0]++') || exit 1
    echo "$intel" > "$tree/etc/kvm-modules-intel"
    echo "$amd" > "$tree/etc/kvm-modules-amd"
    for m in $intel $amd; do cp "$(module_path "$m")" "$tree/lib/modules/$m.ko"; done
    write_kvm_init "$tree/init"
    printf '#!/bin/sh\n# kvm-client\nexec /bin/kvm-client -j "$(nproc)"\n' > "$tree/bin/l1-payload"
    chmod +x "$tree/bin/l1-payload"
    [ -z "$extra" ] || cp -a "$extra/." "$tree/"
    (cd "$tree" && find . | "$BUSYBOX" cpio -o -H newc > "$out" 2>/dev/null) || die "cpio failed"
    rm -rf "$tree"
}

# Runs "$@" with each output line prefixed by the wall time since the start ("[  1.234] ").
with_wall_time() {
    local start=${EPOCHREALTIME/./} now
    "$@" 2>&1 | while IFS= read -r line; do
        now=${EPOCHREALTIME/./}
        printf '[%3d.%03d] %s\n' $(((now - start) / 1000000)) $(((now - start) / 1000 % 1000)) "$line"
    done
    return "${PIPESTATUS[0]}"
}
