#!/bin/sh
# farmhand %post ($1: 1 on install, 2 or more on upgrade). On install, apply
# the system's preset for farmhand.service, as %systemd_post does (most
# distributions' presets leave it disabled: `systemctl enable farmhand`
# in the image build). Never starts or restarts the agent.
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null; then
    systemctl --no-reload preset farmhand.service >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
