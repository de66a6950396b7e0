#!/bin/sh
# Browser tests drive Debian's Chromium; install it when missing (never a browser download).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    }
    # CJK glyphs for the Chinese screenshots; the tests do not depend on them.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || true
else
    echo "chromium is missing: install it with 'sudo apt-get install chromium' (Debian/Ubuntu)" >&2
    exit 1
fi
