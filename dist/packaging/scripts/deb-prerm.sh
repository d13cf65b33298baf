#!/bin/sh
# farmhand prerm: stop the agent (a graceful leave) before its binary is
# removed. Upgrades leave it running.
set -e

if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    if command -v deb-systemd-invoke >/dev/null; then
        deb-systemd-invoke stop farmhand.service >/dev/null || true
    else
        systemctl stop farmhand.service >/dev/null || true
    fi
fi
exit 0
