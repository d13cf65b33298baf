#!/usr/bin/env bash
# test-rpm.sh FARMHAND.rpm [FARMHAND.deb]: inspects the farmhand .rpm with
# Debian's rpm tools (it is not installed: CI runs Debian). Checks its
# files, owners, modes and config flags against files.txt, its scriptlets
# and dependencies; with the .deb, checks that both hold the same bytes, so
# test-deb.sh's install checks cover the rpm's files too. Skips without rpm,
# rpm2cpio or cpio off CI; fails on CI (CI=true).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
manifest=$here/files.txt

say() { echo "test-rpm: $*"; }
fail() {
	echo "test-rpm: FAIL: $*" >&2
	exit 1
}
skip() {
	[ "${CI:-}" = true ] && fail "$* (CI=true: nothing may be skipped)"
	echo "test-rpm: SKIP: $*" >&2
	exit 0
}

[ $# -ge 1 ] && [ $# -le 2 ] || fail "usage: $0 FARMHAND.rpm [FARMHAND.deb]"
[ -f "$1" ] || fail "no package at $1 (run make package)"
rpm=$(realpath "$1")
deb=${2:+$(realpath "$2")}
for tool in rpm rpm2cpio cpio; do
	command -v "$tool" >/dev/null || skip "$tool is missing (apt-get install rpm cpio)"
done

q() { rpm -qp --nosignature "$@" "$rpm" 2>/dev/null; }

say "package $(q --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}')"
[ "$(q --qf '%{NAME}')" = farmhand ] || fail "package name is $(q --qf '%{NAME}')"

# Each entry against files.txt: type, mode, owner, group, and %config(noreplace).
declare -A seen=()
while read -r mode perms owner group flags path; do
	seen[$path]=1
	line=$(awk -v p="$path" '!/^#/ && NF == 5 && $1 == p' "$manifest")
	[ -n "$line" ] || fail "the rpm holds $path, which files.txt does not list"
	read -r _ type wmode wowner wgroup <<<"$line"
	case "$type" in
	d) [[ "$perms" == d* ]] || fail "$path is $perms in the rpm, want a directory" ;;
	*) [[ "$perms" == -* ]] || fail "$path is $perms in the rpm, want a regular file" ;;
	esac
	got=$(printf '%04o' $((8#$mode & 07777)))
	[ "$got $owner $group" = "$wmode $wowner $wgroup" ] ||
		fail "$path is $got $owner:$group in the rpm, want $wmode $wowner:$wgroup"
	if [ "$type" = c ]; then
		[[ "$flags" == *c* && "$flags" == *n* ]] || fail "$path is not %config(noreplace) (flags '$flags')"
	else
		[[ "$flags" != *c* ]] || fail "$path is marked %config"
	fi
done < <(q --qf '[%{FILEMODES:octal} %{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags}- %{FILENAMES}\n]')
for path in $(awk '!/^#/ && NF == 5 { print $1 }' "$manifest"); do
	[ -n "${seen[$path]:-}" ] || fail "files.txt lists $path but the rpm does not hold it"
done
say "ok: the rpm holds exactly files.txt, owners and modes included; /etc/farmhand/farmhand.hcl is %config(noreplace)"

# Scriptlets: the user before the files (%pre), and no start anywhere.
scripts=$(q --scripts)
for s in preinstall postinstall preuninstall postuninstall; do
	grep -q "^$s scriptlet" <<<"$scripts" || fail "no $s scriptlet"
done
sed -n '/^preinstall scriptlet/,/^postinstall scriptlet/p' <<<"$scripts" | grep -q 'useradd --system' ||
	fail "%pre does not create the farmhand user"
if grep -Eq 'systemctl[^|;]* (start|restart|try-restart)|enable --now' <<<"$scripts"; then
	fail "a scriptlet starts the service"
fi
q -R | grep -qx shadow-utils || fail "the rpm does not require shadow-utils (useradd)"
say "ok: %pre creates the user; %post, %preun and %postun never start the service; requires shadow-utils"

# The same bytes as the .deb.
if [ -n "$deb" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	mkdir "$work/rpm" "$work/deb"
	(cd "$work/rpm" && rpm2cpio "$rpm" | cpio -id --quiet)
	dpkg-deb -x "$deb" "$work/deb"
	for path in $(awk '!/^#/ && NF == 5 && $2 != "d" { print $1 }' "$manifest"); do
		cmp -s "$work/rpm$path" "$work/deb$path" || fail "$path differs between the rpm and the deb"
	done
	say "ok: every file of the rpm has the same bytes as in the deb"
fi
say "PASS"
