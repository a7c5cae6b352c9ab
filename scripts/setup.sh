#!/usr/bin/env bash
# Install everything the kernel-module tests need on a fresh Debian 12 machine.
#
# Idempotent: a second run only checks. Works unattended (CI=true, no stdin).
# The host cannot load modules, so tests boot Debian's own kernel in QEMU; this
# script fetches that kernel into .cache/kernels/<abi>/ and installs the
# matching headers on the host so the module can be built against it.
# The ABI (e.g. 6.1.0-56-amd64) is resolved from the apt metapackage, never
# hard-coded, because Debian bumps it with every kernel update.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MYSYSDIG_CACHE_DIR:-$ROOT/.cache}"
FLAVOUR="${MYSYSDIG_KERNEL_FLAVOUR:-amd64}"
LOG="$CACHE/setup.log"
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(qemu-system-x86 busybox-static cpio strace kmod gcc make libc6-dev bc
          flex bison libelf-dev)

say() { echo "setup: $*"; }

# Run a noisy command with its output in the log; show the log tail on failure.
quietly() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "setup: FAILED: $*" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
}

APT_UPDATED=0
apt_update() {
    if [ "$APT_UPDATED" = 0 ]; then
        say "apt-get update"
        quietly apt-get update -q
        APT_UPDATED=1
    fi
}

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# linux-image-amd64 depends on linux-image-<abi>; print <abi> or nothing.
resolve_abi() {
    apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
        sed -n "s/^ *Depends: linux-image-\([0-9].*-$FLAVOUR\)\$/\1/p" | head -n 1
}

install_missing() {
    local missing=() pkg
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_update
        say "apt-get install ${missing[*]}"
        quietly apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# Download linux-image-<abi> into .cache/debs (kept across runs). Returns 1 when
# the version is no longer on the mirror (stale apt lists), so the caller can
# refresh the lists and resolve the ABI again.
download_kernel_deb() {
    local abi="$1"
    mkdir -p "$CACHE/debs"
    if compgen -G "$CACHE/debs/linux-image-${abi}_*.deb" >/dev/null; then
        return 0
    fi
    say "apt-get download linux-image-$abi"
    # apt downloads as its sandbox user _apt, which may not be able to write
    # into the work tree (it then warns and falls back to root): use a
    # world-writable temp dir and move the file into the cache afterwards.
    local tmp
    tmp="$(mktemp -d)"
    chmod 0777 "$tmp"
    if ! (cd "$tmp" && apt-get download -q "linux-image-$abi" >>"$LOG" 2>&1); then
        rm -rf "$tmp"
        return 1
    fi
    mv "$tmp"/linux-image-"${abi}"_*.deb "$CACHE/debs/"
    rm -rf "$tmp"
}

unpack_kernel() {
    local abi="$1" dest="$CACHE/kernels/$1"
    if [ -f "$dest/boot/vmlinuz-$abi" ] && [ -d "$dest/lib/modules/$abi" ]; then
        return 0
    fi
    say "unpacking kernel into ${dest#"$ROOT"/}"
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp"
    quietly dpkg-deb -x "$(compgen -G "$CACHE/debs/linux-image-${abi}_*.deb" | head -n 1)" "$dest.tmp"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
}

setup_kernel() {
    local abi
    abi="$(resolve_abi)"
    if [ -z "$abi" ]; then  # no apt lists yet on a fresh machine
        apt_update
        abi="$(resolve_abi)"
    fi
    [ -n "$abi" ] || { echo "setup: cannot resolve linux-image-$FLAVOUR ABI" >&2; exit 1; }
    if ! download_kernel_deb "$abi"; then
        # Stale lists name a kernel the mirror dropped: refresh and re-resolve.
        apt_update
        abi="$(resolve_abi)"
        download_kernel_deb "$abi" || { tail -n 20 "$LOG" >&2; exit 1; }
    fi
    install_missing "linux-headers-$abi"
    unpack_kernel "$abi"
    say "kernel $abi ready (headers /usr/src/linux-headers-$abi)"
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
    quietly "${PYTHON:-python3}" -m pip install -q -e "$ROOT[dev]"
    rm -f "$CACHE"/pip-installed-*
    touch "$stamp"
}

main() {
    mkdir -p "$CACHE"
    : >"$LOG"
    [ "$(id -u)" = 0 ] || { echo "setup: must run as root (apt-get)" >&2; exit 1; }
    install_missing "${PACKAGES[@]}"
    setup_kernel
    setup_python
    say "done"
}

main "$@"
