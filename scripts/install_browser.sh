#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py, from Debian packages.
#
# Playwright's own browser download needs the open internet, so the test drives the
# distribution's /usr/bin/chromium instead. Idempotent: does nothing when it is present.
# Never fails the build: when it cannot install, it says why and exits 0, and the browser
# test then skips with its own message.
set -u

CHROMIUM=/usr/bin/chromium
# chromium pulls in every shared library it needs; the fonts make screenshots readable.
PACKAGES=(chromium fonts-liberation fonts-dejavu-core)

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

skip() {
    echo "install_browser: $1; the browser test will be skipped." >&2
    exit 0
}

command -v apt-get >/dev/null 2>&1 || skip "apt-get not found (not a Debian-like system)"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        skip "not root and no password-less sudo, cannot install ${PACKAGES[*]}"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "install_browser: installing ${PACKAGES[*]} with apt-get ..."
if ! "${SUDO[@]}" apt-get update -qq >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    skip "apt-get update failed"
fi
if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    skip "apt-get install ${PACKAGES[*]} failed"
fi
[ -x "$CHROMIUM" ] || skip "$CHROMIUM still missing after installing ${PACKAGES[*]}"
echo "install_browser: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
