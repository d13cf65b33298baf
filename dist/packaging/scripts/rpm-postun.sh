#!/bin/sh
# farmhand %postun ($1: 0 on erase, 1 or more on upgrade). Reload systemd;
# an upgrade leaves a running agent alone (restart it node by node). On
# erase, rpm keeps a changed config as farmhand.hcl.rpmsave; the farmhand
# user and group stay.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
