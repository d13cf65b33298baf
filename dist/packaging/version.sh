#!/bin/sh
# Prints the package version for `make package`: X.Y.Z on a clean checkout
# of tag vX.Y.Z; otherwise the latest tag (0.0.0 before the first) plus
# +git<commit time, UTC>.<commit>, and .dirty for uncommitted changes. Later
# commits sort higher in both dpkg and rpm.
set -eu
if ! git rev-parse --git-dir >/dev/null 2>&1; then
    echo "0.0.0+unknown"
    exit 0
fi
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    dirty=".dirty"
fi
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && [ -z "$dirty" ]; then
    echo "${tag#v}"
    exit 0
fi
base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || echo v0.0.0)
when=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
echo "${base#v}+git${when}.$(git rev-parse --short HEAD)${dirty}"
