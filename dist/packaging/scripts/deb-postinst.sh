#!/bin/sh
# farmhand postinst: enable farmhand.service on first install, as
# dh_installsystemd does, and never start, stop or restart it: images are
# baked with the agent stopped, and a running farm restarts its agents one
# at a time. deb-systemd-helper remembers an administrator's "systemctl
# disable", so upgrades and reinstalls keep it disabled.
set -e

case "$1" in
configure|abort-upgrade|abort-deconfigure|abort-remove)
    if command -v deb-systemd-helper >/dev/null; then
        # Only removes the mask that postrm set on "remove".
        deb-systemd-helper unmask farmhand.service >/dev/null || true
        if deb-systemd-helper --quiet was-enabled farmhand.service; then
            deb-systemd-helper enable farmhand.service >/dev/null || true
        else
            deb-systemd-helper update-state farmhand.service >/dev/null || true
        fi
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
    if [ "$1" = configure ] && [ -z "$2" ]; then
        echo "farmhand: installed and enabled, not started. Set cluster, registry.bucket and a"
        echo "farmhand: gossip key in /etc/farmhand/farmhand.hcl or /etc/farmhand/conf.d/, then:"
        echo "farmhand:   systemctl start farmhand"
    elif [ -d /run/systemd/system ] && systemctl is-active --quiet farmhand.service; then
        echo "farmhand: the running agent keeps its old version until restarted:"
        echo "farmhand:   systemctl restart farmhand   (one node at a time)"
    fi
    ;;
esac
exit 0
