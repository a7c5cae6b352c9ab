#!/usr/bin/env bash
# Install everything the kernel-module tests need on a fresh Debian 12 machine.
#
# Idempotent: a second run only checks. Works unattended (CI=true, no stdin).
# The host cannot load modules, so tests boot Debian's own kernels in QEMU.
# Six targets (MYSYSDIG_TARGETS narrows them): x86_64 and arm64, each on
# bookworm's kernel (6.1), on the newest 6.12 from bookworm-backports that
# has an image, headers, -common headers and a linux-kbuild all published,
# and on the newest 7.3 (NEW_SERIES) from trixie-backports likewise. The latter's
# headers need trixie's gcc-14 and glibc (their kbuild tools are linked
# against it), so its modules are built inside a minimal trixie chroot,
# debootstrapped once into .cache/chroots/trixie.
#
# Kernel packages and the arm64 guest userland are fetched with apt-get
# download through a private apt configuration under .cache/apt (sources,
# lists and state of its own, amd64 + arm64), so the host's apt sources,
# dpkg architectures and installed packages never change; each target is
# unpacked with dpkg-deb -x into .cache/kernels/<abi>/. Versions and ABIs are
# resolved from the package lists, never hard-coded. What was resolved is
# written to .cache/targets/<target>.env for scripts/testbed; a target that
# cannot be fetched gets an error= line there instead, so its VM tests fail
# with the reason (the other targets are still set up).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MYSYSDIG_CACHE_DIR:-$ROOT/.cache}"
LOG="$CACHE/setup.log"
LOG_NAME="${LOG#"$ROOT"/}"
APT_DIR="$CACHE/apt"
# The newest series trixie-backports publishes whole (image, modules,
# headers, kbuild) for both arches; scripts/testbed/kernel.py's SERIES
# names it too. (Its 6.19 images lack modules and headers.)
NEW_SERIES=7.3
NEW_RELEASE=trixie
TARGETS="${MYSYSDIG_TARGETS:-x86_64-6.1 x86_64-6.12 x86_64-$NEW_SERIES arm64-6.1 arm64-6.12 arm64-$NEW_SERIES}"
TARGETS="${TARGETS//,/ }"
# Where 6.12 comes from. bookworm-security also carries a 6.12 series
# (6.12.x-1~deb12u1); set this to bookworm-security to test that one instead.
SUITE_6_12="${MYSYSDIG_SUITE_6_12:-}"
export DEBIAN_FRONTEND=noninteractive

# Host packages. Cross compilers build the module for arm64 and the static
# workloads for aarch64, armhf (AArch32) and i686 (ia32). Never gcc-multilib:
# on bookworm it conflicts with the cross compilers and apt silently removes
# gcc-aarch64-linux-gnu and gcc-arm-linux-gnueabihf.
PACKAGES=(qemu-system-x86 qemu-system-arm busybox-static cpio strace kmod gcc make debootstrap
          libc6-dev bc flex bison libelf-dev libssl3 zlib1g binutils
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross
          gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
          gcc-i686-linux-gnu libc6-dev-i386-cross)
CROSS_TOOLS=(aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc i686-linux-gnu-gcc qemu-system-x86_64
             qemu-system-aarch64 readelf)
# The arm64 guest's busybox and strace; their shared libraries are added from
# the resolved Depends of these packages.
ARM64_USERLAND=(busybox-static strace)
# The build chroot of the newest series: its headers name gcc-14 (and
# aarch64-linux-gnu-gcc-14 for arm64); its kbuild tools (fixdep, modpost,
# objtool) need trixie's libc, libelf and libssl; pahole, which the kbuild
# package depends on, keeps kbuild from warning about its version.
CHROOT_PACKAGES=(gcc-14 gcc-14-aarch64-linux-gnu make libc6-dev libelf1t64 libssl3t64 zlib1g bc pahole)

NAME=setup
# shellcheck source=scripts/apt-common.sh
. "$ROOT/scripts/apt-common.sh"

HOST_ARCH="$(dpkg --print-architecture)"
CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
SUITE_6_12="${SUITE_6_12:-$CODENAME-backports}"

# ---------------------------------------------------------------- host apt

# Host packages, then a check that what the tests call is really there.
install_host_packages() {
    install_missing "$@"
    local tool
    for tool in "${CROSS_TOOLS[@]}"; do
        command -v "$tool" >/dev/null || { echo "setup: $tool missing after install" >&2; exit 1; }
    done
    if is_installed gcc-multilib; then
        echo "setup: WARNING: gcc-multilib is installed; it conflicts with the cross compilers" >&2
    fi
}

# ------------------------------------------------------------- private apt

# The host's apt.conf.d may switch the binary package cache off (Docker
# images do), which makes every apt-cache call re-read all lists: a command
# line option outranks it.
papt() { APT_CONFIG="$APT_DIR/apt.conf" "$1" -o Dir::Cache::pkgcache="$APT_DIR/cache/pkgcache.bin" "${@:2}"; }

# The private sources: the host's own Debian suites for this release (same
# mirrors, main only) plus <codename>-backports and $NEW_RELEASE-backports.
# Lists and state live in .cache/apt; the host's trusted keys are used as
# they are. $NEW_RELEASE-backports is pinned to 1 so it only ever supplies
# the kernel packages named by their exact version, never a candidate for
# the arm64 userland.
private_apt_config() {
    mkdir -p "$APT_DIR"/{lists/partial,archives/partial,cache,sources.list.d,preferences.d}
    printf 'Package: *\nPin: release n=%s\nPin-Priority: 1\n' "$NEW_RELEASE-backports" \
        >"$APT_DIR/preferences.d/$NEW_RELEASE-backports.pref"
    [ -f "$APT_DIR/status" ] || : >"$APT_DIR/status"
    cat >"$APT_DIR/apt.conf" <<EOF
// Written by scripts/setup.sh: a private apt for downloading kernels and
// foreign-arch packages without touching the host's apt configuration.
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$APT_DIR/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$APT_DIR/preferences.d";
Dir::State::Lists "$APT_DIR/lists";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR/cache";
Dir::Cache::archives "$APT_DIR/archives";
APT::Architecture "$HOST_ARCH";
APT::Architectures { "$HOST_ARCH"; "arm64"; };
EOF
    local sites main_site keyring="" tmp="$APT_DIR/sources.list.d/debian.list.new"
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
        keyring="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    sites="$(apt-get indextargets --no-release-info --format '$(SITE) $(RELEASE) $(TARGET_OF)' |
             awk -v c="$CODENAME" '$3 == "deb" && ($2 == c || $2 == c "-updates" || $2 == c "-security") {print $1, $2}' |
             sort -u)"
    main_site="$(awk -v c="$CODENAME" '$2 == c {print $1; exit}' <<<"$sites")"
    [ -n "$main_site" ] || { echo "setup: no $CODENAME source in the host's apt configuration" >&2; exit 1; }
    MIRROR="$main_site"
    {
        echo "# Written by scripts/setup.sh from the host's Debian sources."
        awk -v k="$keyring" '{print "deb " k $1 " " $2 " main"}' <<<"$sites"
        echo "deb ${keyring}$main_site $CODENAME-backports main"
        echo "deb ${keyring}$main_site $NEW_RELEASE-backports main"
    } >"$tmp"
    if ! cmp -s "$tmp" "$APT_DIR/sources.list.d/debian.list"; then
        mv "$tmp" "$APT_DIR/sources.list.d/debian.list"
        rm -f "$APT_DIR/lists/"*_Packages* "$APT_DIR/lists/"*Release*
    else
        rm -f "$tmp"
    fi
}

# Refresh the private lists once per run. Failing is not fatal here: each
# target then fails on its own with the reason.
PAPT_UPDATED=0
private_apt_update() {
    [ "$PAPT_UPDATED" = 0 ] || return 0
    PAPT_UPDATED=1
    say "apt-get update (private lists in ${APT_DIR#"$ROOT"/})"
    if ! papt apt-get update -q >>"$LOG" 2>&1; then
        echo "setup: WARNING: apt-get update of the private lists failed (see $LOG_NAME)" >&2
        return 1
    fi
}

private_lists_present() {
    compgen -G "$APT_DIR/lists/*_Packages*" >/dev/null
}

# ------------------------------------------------------- resolving versions

# Versions of package $1 that suite $2 publishes, one a line.
versions_in_suite() {
    papt apt-cache madison "$1" 2>/dev/null |
        awk -F' [|] ' -v s=" $2/" 'index($3, s) {print $2}'
}

candidate() {
    papt apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' | head -n 1
}

# Print the newest of the versions given one a line on stdin.
newest() {
    local best="" v
    while read -r v; do
        [ -n "$v" ] || continue
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best="$v"; fi
    done
    echo "$best"
}

# Print the Depends of $1 (arch-qualified name) whose name matches $2.
depends_matching() {
    papt apt-cache depends "$1" 2>/dev/null |
        sed -n 's/^ *Depends: <\{0,1\}\([^:> ]*\).*$/\1/p' | grep -E "$2" | head -n 1
}

# Resolve a target to the line "abi version common kbuild": the kernel ABI
# (e.g. 6.1.0-56-arm64), the source version shared by all four packages,
# and the names of the -common headers and kbuild packages.
resolve_6_1() {
    local arch="$1" abi version headers common kbuild
    abi="$(papt apt-cache depends "linux-image-$arch:$arch" 2>/dev/null |
           sed -n "s/^ *Depends: linux-image-\([0-9][^: ]*-$arch\)\(:$arch\)\{0,1\}\$/\1/p" | head -n 1)"
    [ -n "$abi" ] || { echo "linux-image-$arch does not name a kernel in the package lists" >&2; return 1; }
    version="$(candidate "linux-image-$abi:$arch")"
    headers="linux-headers-$abi:$arch"
    common="$(depends_matching "$headers" '^linux-headers-.*-common$')"
    kbuild="$(depends_matching "$headers" '^linux-kbuild-')"
    [ -n "$version" ] && [ -n "$common" ] && [ -n "$kbuild" ] ||
        { echo "cannot resolve the headers of linux-image-$abi ($arch)" >&2; return 1; }
    echo "$abi $version $common $kbuild"
}

# The newest 6.12 in $SUITE_6_12 for which image, headers, -common headers
# and kbuild exist at the same version (backports often lacks some).
resolve_6_12() {
    local arch="$1" base common abi best="" best_version="" versions pkg
    for common in $(papt apt-cache pkgnames linux-headers-6.12. 2>/dev/null |
                    grep -E '^linux-headers-6\.12\.[^-]+-common$' | sort -u); do
        base="${common#linux-headers-}"
        base="${base%-common}"
        abi="$base-$arch"
        versions="$(versions_in_suite "linux-image-$abi:$arch" "$SUITE_6_12" | sort -u)"
        for pkg in "linux-headers-$abi:$arch" "$common" "linux-kbuild-$base:$HOST_ARCH"; do
            [ -n "$versions" ] || break
            versions="$(comm -12 <(echo "$versions") <(versions_in_suite "$pkg" "$SUITE_6_12" | sort -u))"
        done
        [ -n "$versions" ] || continue
        local v
        v="$(newest <<<"$versions")"
        if [ -z "$best_version" ] || dpkg --compare-versions "$v" gt "$best_version"; then
            best="$base" best_version="$v"
        fi
    done
    [ -n "$best" ] || {
        echo "no 6.12 kernel in $SUITE_6_12 has image, headers, -common headers and kbuild for $arch" >&2
        return 1
    }
    echo "$best-$arch $best_version linux-headers-$best-common linux-kbuild-$best"
}

# The newest $NEW_SERIES in $NEW_RELEASE-backports for which the image and
# the packages it is split into (linux-binary-*, linux-modules-*,
# linux-base-*), the headers, -common headers and kbuild all exist at the
# same version. Prints "abi version pkg..." (every package but the image
# metapackage and kbuild, which the caller adds).
resolve_new() {
    local arch="$1" suite="$NEW_RELEASE-backports" base abi best="" best_version="" best_pkgs=""
    local versions pkg pkgs v
    for base in $(papt apt-cache pkgnames "linux-headers-$NEW_SERIES." 2>/dev/null |
                  sed -n "s/^linux-headers-\(${NEW_SERIES//./\\.}\.[^-]*\)-common\$/\1/p" | sort -u); do
        abi="$base-$arch"
        versions="$(versions_in_suite "linux-image-$abi:$arch" "$suite" | sort -u)"
        [ -n "$versions" ] || continue
        v="$(newest <<<"$versions")"
        # The image's and headers' own Depends of this ABI (split image parts, -common).
        pkgs="$( { papt apt-cache depends "linux-image-$abi:$arch=$v" "linux-headers-$abi:$arch=$v" 2>/dev/null |
                   sed -n 's/^ *Depends: <\{0,1\}\([^:> ]*\).*$/\1/p'; echo "linux-headers-$abi"; } |
                 grep -F -- "-$base-" | grep -v '^linux-kbuild-' | sort -u)"
        for pkg in $pkgs "linux-kbuild-$base"; do
            case "$pkg" in *-common) ;; linux-kbuild-*) pkg="$pkg:$HOST_ARCH" ;; *) pkg="$pkg:$arch" ;; esac
            [ -n "$versions" ] || break
            versions="$(comm -12 <(echo "$versions") <(versions_in_suite "$pkg" "$suite" | sort -u))"
        done
        [ -n "$versions" ] || continue
        v="$(newest <<<"$versions")"
        if [ -z "$best_version" ] || dpkg --compare-versions "$v" gt "$best_version"; then
            best="$base" best_version="$v" best_pkgs="$pkgs"
        fi
    done
    [ -n "$best" ] || {
        echo "no $NEW_SERIES kernel in $suite has image, modules, headers, -common headers and kbuild for $arch" >&2
        return 1
    }
    # shellcheck disable=SC2086  # the package names, one a line, onto this one
    echo "$best-$arch $best_version" $best_pkgs
}

# --------------------------------------------------------------- downloads

spec_name() {  # "name:arch=version" -> name
    local name="${1%%=*}"
    echo "${name%%:*}"
}

deb_file() {  # name version -> the cached .deb, if any
    compgen -G "$CACHE/debs/${1}_${2//:/%3a}_*.deb" | head -n 1
}

# apt-get download each "name:arch=version" into .cache/debs unless there.
download_debs() {
    local spec missing=()
    mkdir -p "$CACHE/debs"
    for spec in "$@"; do
        [ -n "$(deb_file "$(spec_name "$spec")" "${spec#*=}")" ] || missing+=("$spec")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    say "apt-get download ${missing[*]}"
    # apt downloads as its sandbox user _apt, which may not be able to write
    # into the work tree: use a world-writable temp dir, then move the files.
    local tmp
    tmp="$(mktemp -d)"
    chmod 0777 "$tmp"
    if ! (cd "$tmp" && papt apt-get download -q "${missing[@]}" >>"$LOG" 2>&1); then
        rm -rf "$tmp"
        echo "apt-get download ${missing[*]} failed" >&2
        return 1
    fi
    mv "$tmp"/*.deb "$CACHE/debs/"
    rm -rf "$tmp"
}

# The cached .deb of each "name:arch=version", one a line.
deb_files() {
    local spec file
    for spec in "$@"; do
        file="$(deb_file "$(spec_name "$spec")" "${spec#*=}")"
        [ -n "$file" ] || { echo "no .deb for $spec in .cache/debs" >&2; return 1; }
        echo "$file"
    done
}

# Unpack .debs into dest atomically, remembering which, so that a rerun with
# the same ones does nothing. $1 dest, $2 a command run on the unpacked tree
# before it is moved into place (given the tree and dest), rest: the .debs.
unpack_debs() {
    local dest="$1" fixup="$2" stamp deb
    shift 2
    stamp="$(printf '%s\n' "dest=$dest" "${@##*/}")"
    if [ -f "$dest/.unpacked" ] && [ "$(cat "$dest/.unpacked")" = "$stamp" ]; then
        return 0
    fi
    say "unpacking into ${dest#"$ROOT"/}"
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    for deb in "$@"; do
        dpkg-deb -x "$deb" "$dest.tmp" || { echo "dpkg-deb -x $deb failed" >&2; return 1; }
    done
    $fixup "$dest.tmp" "$dest" || return 1
    printf '%s\n' "$stamp" >"$dest.tmp/.unpacked"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
}

# ----------------------------------------------------------------- targets

# Fetch and unpack one target's kernel, then write .cache/targets/<t>.env.
fetch_target() {
    local target="$1" arch series deb_arch resolved abi version common kbuild root specs debs chroot_line=""
    arch="${target%-*}" series="${target##*-}"
    case "$arch" in
    x86_64) deb_arch=amd64 ;;
    arm64) deb_arch=arm64 ;;
    *) echo "unknown architecture in target $target" >&2; return 1 ;;
    esac
    case "$series" in
    6.1) resolved="$(resolve_6_1 "$deb_arch")" || return 1 ;;
    6.12) resolved="$(resolve_6_12 "$deb_arch")" || return 1 ;;
    "$NEW_SERIES") resolved="$(resolve_new "$deb_arch")" || return 1 ;;
    *) echo "unknown kernel series in target $target" >&2; return 1 ;;
    esac
    if [ "$series" = "$NEW_SERIES" ]; then
        local pkg parts
        read -r abi version parts <<<"$resolved"
        specs=("linux-kbuild-${abi%-"$deb_arch"}:$HOST_ARCH=$version")
        for pkg in $parts; do
            case "$pkg" in *-common) specs+=("$pkg=$version") ;; *) specs+=("$pkg:$deb_arch=$version") ;; esac
        done
        [ -f "$CHROOT_DIR/.debootstrapped" ] ||
            { echo "no $NEW_RELEASE build chroot in ${CHROOT_DIR#"$ROOT"/}" >&2; return 1; }
        chroot_line="chroot=$CHROOT_DIR"
    else
        read -r abi version common kbuild <<<"$resolved"
        specs=("linux-image-$abi:$deb_arch=$version" "linux-headers-$abi:$deb_arch=$version"
               "$common=$version" "$kbuild:$HOST_ARCH=$version")
    fi
    download_debs "${specs[@]}" || return 1
    mapfile -t debs < <(deb_files "${specs[@]}") && [ "${#debs[@]}" = "${#specs[@]}" ] || return 1
    root="$CACHE/kernels/$abi"
    unpack_debs "$root" fix_headers "${debs[@]}" || return 1
    if ! [ -f "$root/boot/vmlinuz-$abi" ] || ! [ -d "$root/lib/modules/$abi" ] ||
       ! [ -f "$root/usr/src/linux-headers-$abi/Makefile" ]; then
        echo "unpacked $abi lacks its image, modules or headers" >&2
        return 1
    fi
    { printf 'target=%s\narch=%s\nseries=%s\nabi=%s\nversion=%s\n' "$target" "$arch" "$series" "$abi" "$version"
      [ -z "$chroot_line" ] || echo "$chroot_line"; } >"$CACHE/targets/$target.env.new"
    mv "$CACHE/targets/$target.env.new" "$CACHE/targets/$target.env"
    say "$target: kernel $abi ($version) ready"
}

# The headers' Makefile includes the -common tree by absolute /usr/src path
# (and from 7.x sets KBUILD_OUTPUT to its own): point both at the unpacked
# copy. Their scripts/ and tools/ links are relative
# (../../lib/linux-kbuild-*) and so resolve to the kbuild unpacked beside
# them. Kernels packaged for merged /usr (trixie's: modules and vmlinuz in
# usr/lib/modules/<abi>/) get the links lib -> usr/lib and
# boot/vmlinuz-<abi>, so every tree has the layout scripts/testbed expects.
# $1 the unpacked tree, $2 where it will live.
fix_headers() {
    local tree="$1" dest="$2" makefile image
    if ! [ -e "$tree/lib" ] && [ -d "$tree/usr/lib/modules" ]; then
        ln -s usr/lib "$tree/lib"
    fi
    for image in "$tree"/usr/lib/modules/*/vmlinuz; do
        [ -f "$image" ] || continue
        image="${image#"$tree"/usr/lib/modules/}"
        mkdir -p "$tree/boot"
        [ -e "$tree/boot/vmlinuz-${image%/vmlinuz}" ] ||
            ln -s "../usr/lib/modules/$image" "$tree/boot/vmlinuz-${image%/vmlinuz}"
    done
    for makefile in "$tree"/usr/src/linux-headers-*/Makefile; do
        case "$makefile" in */linux-headers-*-common/Makefile) continue ;; esac
        sed -i -e "s|^include /usr/src/|include $dest/usr/src/|" \
            -e "s|^KBUILD_OUTPUT=/usr/src/|KBUILD_OUTPUT=$dest/usr/src/|" "$makefile"
        grep -q "^include $dest/usr/src/linux-headers-.*-common/Makefile\$" "$makefile" ||
            { echo "unexpected headers Makefile: $(cat "$makefile")" >&2; return 1; }
    done
}

setup_target() {
    local target="$1" err="$CACHE/targets/$1.err" reason
    if (fetch_target "$target") 2>"$err"; then
        rm -f "$err"
        return 0
    fi
    # Retry once with fresh lists: stale ones name packages the mirror dropped.
    if [ "$PAPT_UPDATED" = 0 ]; then
        private_apt_update || true
        (fetch_target "$target") 2>"$err" && rm -f "$err" && return 0
    fi
    cat "$err" >>"$LOG"
    reason="$(tail -n 5 "$err" | tr '\n' ' ')"
    printf 'target=%s\nerror=%s\n' "$target" \
        "scripts/setup.sh could not fetch this target's kernel: ${reason:-unknown error}(see $LOG_NAME)" \
        >"$CACHE/targets/$target.env"
    echo "setup: ERROR: target $target UNAVAILABLE, its VM tests will fail: $reason" >&2
    FAILED_TARGETS+=("$target")
}

# The $NEW_RELEASE chroot that builds modules for $NEW_SERIES kernels:
# debootstrap minbase plus CHROOT_PACKAGES, its .debs cached in
# .cache/debootstrap, built once (about 40 s cold, 130 MB of downloads,
# 690 MB unpacked) and rebuilt only when the package list changes.
# scripts/testbed/build.py runs make in it with the cache bind-mounted at
# the same path, so kernel trees and build dirs keep their host paths.
CHROOT_DIR="$CACHE/chroots/$NEW_RELEASE"
setup_chroot() {
    local dest="$CHROOT_DIR" stamp include
    stamp="$(printf '%s\n' "$NEW_RELEASE" "${CHROOT_PACKAGES[@]}")"
    if [ -f "$dest/.debootstrapped" ] && [ "$(cat "$dest/.debootstrapped")" = "$stamp" ]; then
        return 0
    fi
    include="$(IFS=,; echo "${CHROOT_PACKAGES[*]}")"
    say "debootstrap $NEW_RELEASE + $include into ${dest#"$ROOT"/} (about 1 min)"
    mkdir -p "$CACHE/debootstrap" "$CACHE/chroots"
    rm -rf "$dest.tmp"
    if ! debootstrap --variant=minbase --cache-dir="$CACHE/debootstrap" --include="$include" \
            "$NEW_RELEASE" "$dest.tmp" "$MIRROR" >>"$LOG" 2>&1; then
        rm -rf "$dest.tmp"
        echo "setup: ERROR: debootstrap $NEW_RELEASE failed (see $LOG_NAME); $NEW_SERIES targets will fail" >&2
        return 1
    fi
    printf '%s\n' "$stamp" >"$dest.tmp/.debootstrapped"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
}

# busybox-static:arm64 and strace:arm64 plus every arm64 package they depend
# on (recursively), unpacked into .cache/sysroots/arm64: the initramfs
# builder takes strace's shared libraries from there by their ELF headers.
fetch_arm64_userland() {
    local pkgs pkg version specs=() debs
    pkgs="$(papt apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
                --no-breaks --no-replaces --no-enhances "${ARM64_USERLAND[@]/%/:arm64}" 2>/dev/null |
            grep -E '^[a-z0-9]' | sort -u)"
    for pkg in $pkgs; do
        case "$pkg" in *:arm64) ;; *:*) continue ;; *) pkg="$pkg:arm64" ;; esac
        version="$(candidate "$pkg")"
        [ -n "$version" ] || { echo "no candidate version of $pkg" >&2; return 1; }
        specs+=("$pkg=$version")
    done
    download_debs "${specs[@]}" || return 1
    mapfile -t debs < <(deb_files "${specs[@]}") && [ "${#debs[@]}" = "${#specs[@]}" ] || return 1
    unpack_debs "$CACHE/sysroots/arm64" : "${debs[@]}" || return 1
    [ -x "$CACHE/sysroots/arm64/bin/busybox" ] && [ -x "$CACHE/sysroots/arm64/usr/bin/strace" ] ||
        { echo "busybox or strace missing from the arm64 sysroot" >&2; return 1; }
}

setup_arm64_userland() {
    local err="$CACHE/sysroots/arm64.err"
    mkdir -p "$CACHE/sysroots"
    if (fetch_arm64_userland) 2>"$err"; then
        rm -f "$err"
        return 0
    fi
    if [ "$PAPT_UPDATED" = 0 ]; then
        private_apt_update || true
        (fetch_arm64_userland) 2>"$err" && rm -f "$err" && return 0
    fi
    cat "$err" >>"$LOG"
    echo "setup: ERROR: arm64 guest userland UNAVAILABLE, arm64 VM tests will fail: $(tail -n 5 "$err")" >&2
    FAILED_TARGETS+=("arm64-userland")
}

# pip install -e only when pyproject.toml changed since the last successful run.
setup_python() {
    [ -f "$ROOT/pyproject.toml" ] || return 0
    local stamp sum
    sum="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    stamp="$CACHE/pip-installed-$sum"
    if [ -f "$stamp" ]; then
        return 0
    fi
    say "pip install -e '.[dev]'"
    quietly "${PYTHON:-python3}" -m pip install -q -e "${ROOT}[dev]"
    rm -f "$CACHE"/pip-installed-*
    touch "$stamp"
}

main() {
    mkdir -p "$CACHE/targets"
    : >"$LOG"
    [ "$(id -u)" = 0 ] || { echo "setup: must run as root (apt-get)" >&2; exit 1; }
    install_host_packages "${PACKAGES[@]}"
    private_apt_config
    private_lists_present || private_apt_update || true
    FAILED_TARGETS=()
    local target
    case " $TARGETS " in *"-$NEW_SERIES "*) setup_chroot || FAILED_TARGETS+=("$NEW_RELEASE-chroot") ;; esac
    for target in $TARGETS; do
        setup_target "$target"
    done
    case " $TARGETS " in *" arm64-"*) setup_arm64_userland ;; esac
    setup_python
    if [ "${#FAILED_TARGETS[@]}" -gt 0 ]; then
        say "done, but UNAVAILABLE: ${FAILED_TARGETS[*]} (their VM tests will fail)"
    else
        say "done: $TARGETS"
    fi
}

main "$@"
