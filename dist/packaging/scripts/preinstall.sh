#!/bin/sh
# farmhand preinst (.deb) and %pre (.rpm): create the farmhand system group
# and user before the files they own are unpacked. Safe to run any number of
# times: it changes nothing when they exist. The user has no login shell and
# its home is the agent's state directory, which the package ships; it is
# never created here.
set -e

if ! getent group farmhand >/dev/null; then
    groupadd --system farmhand
fi
if ! getent passwd farmhand >/dev/null; then
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    useradd --system --gid farmhand --no-create-home --home-dir /var/lib/farmhand \
        --shell "$nologin" --comment "farmhand agent" farmhand
fi
exit 0
