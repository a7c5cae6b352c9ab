# shellcheck shell=bash
# Sourced by scripts/setup.sh and scripts/setup-image.sh: quiet logging and idempotent apt installs.
# The caller sets LOG (where noisy output goes) and NAME (the prefix of its messages).

say() { echo "$NAME: $*"; }

# Run a noisy command with its output in the log; show the log tail on failure.
quietly() {
    if ! "$@" >>"$LOG" 2>&1; then
        echo "$NAME: FAILED: $*" >&2
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

# apt-get install the packages that are not installed yet (an update first, once, only then).
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
