#!/bin/sh
# farmhand postrm. remove: the config stays (dpkg keeps conffiles) and the
# unit is masked so that its leftover enable link starts nothing; postinst
# lifts the mask on reinstall. purge: everything under /etc/farmhand (the
# config, conf.d drop-ins, the gossip key, rendered files) and the agent's
# state go. The farmhand user and group stay, as Debian keeps system users:
# files they own elsewhere must not pass to a later user with the same id.
set -e

case "$1" in
remove)
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper mask farmhand.service >/dev/null || true
    fi
    ;;
purge)
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper purge farmhand.service >/dev/null || true
        deb-systemd-helper unmask farmhand.service >/dev/null || true
    fi
    rm -rf /etc/farmhand /var/lib/farmhand /run/farmhand
    ;;
esac
exit 0
