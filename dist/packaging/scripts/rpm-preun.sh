#!/bin/sh
# farmhand %preun ($1: 0 on erase, 1 or more on upgrade). On erase, disable
# and stop the agent (a graceful leave), as %systemd_preun does.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null; then
    systemctl --no-reload disable --now farmhand.service >/dev/null 2>&1 || true
fi
exit 0
