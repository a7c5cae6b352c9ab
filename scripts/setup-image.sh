#!/usr/bin/env bash
# Install what `make demo` and `make bench` need on top of scripts/setup.sh:
# the tools that build the guest's Debian root image, and (with `bench`) the
# source packages of the peer tracers' kernel modules.
#
#   bash scripts/setup-image.sh          debootstrap, e2fsprogs
#   bash scripts/setup-image.sh bench    ... plus falcosecurity-scap-dkms and
#                                        lttng-modules-dkms downloaded (not
#                                        installed) into .cache/debs
#
# Idempotent: a second run only checks. Works unattended (no stdin).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MYSYSDIG_CACHE_DIR:-$ROOT/.cache}"
LOG="$CACHE/setup-image.log"
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(debootstrap e2fsprogs gzip)
# Kernel-module sources of the peer tracers, built against the guest kernel's
# headers by scripts/bench.py. Downloaded, never installed: installing a dkms
# package would try to build for the host's kernel, which has no modules.
BENCH_DEBS=(falcosecurity-scap-dkms lttng-modules-dkms)

NAME=setup-image
# shellcheck source=scripts/apt-common.sh
. "$ROOT/scripts/apt-common.sh"

# apt-get download <pkg> into .cache/debs unless a .deb of it is there already.
# A stale cached version is harmless: the image build only needs the sources.
download_deb() {
    local pkg="$1" tmp
    if compgen -G "$CACHE/debs/${pkg}_*.deb" >/dev/null; then
        return 0
    fi
    say "apt-get download $pkg"
    tmp="$(mktemp -d)"
    chmod 0777 "$tmp"  # apt downloads as _apt, which may not write elsewhere
    if ! (cd "$tmp" && apt-get download -q "$pkg" >>"$LOG" 2>&1); then
        apt_update
        (cd "$tmp" && apt-get download -q "$pkg" >>"$LOG" 2>&1) ||
            { rm -rf "$tmp"; echo "setup-image: cannot download $pkg" >&2; exit 1; }
    fi
    mkdir -p "$CACHE/debs"
    mv "$tmp"/"${pkg}"_*.deb "$CACHE/debs/"
    rm -rf "$tmp"
}

main() {
    mkdir -p "$CACHE"
    : >"$LOG"
    [ "$(id -u)" = 0 ] || { echo "setup-image: must run as root (apt-get, debootstrap)" >&2; exit 1; }
    install_missing "${PACKAGES[@]}"
    if [ "${1:-}" = bench ]; then
        local pkg
        for pkg in "${BENCH_DEBS[@]}"; do
            download_deb "$pkg"
        done
    fi
    say "done"
}

main "$@"
