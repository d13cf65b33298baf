#!/usr/bin/env bash
# test-deb.sh FARMHAND.deb: installs the farmhand .deb with dpkg and takes it
# through install, reinstall, upgrade, remove, reinstall, purge and install
# again, checking after each step what the package promises (files.txt, the
# user and group, the unit, the kept or purged config, the service enabled
# and never started). .ci/run runs it on the CI machine; `make package-test`
# runs it on a developer machine.
#
# On CI (CI=true) it installs onto the machine itself and every missing tool
# is a failure. Elsewhere it needs root and dpkg, skips with a message
# without them, and runs in a private mount namespace over throwaway
# overlays of /etc, /usr and /var, so the machine is left as it was.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
manifest=$here/files.txt
unit=/usr/lib/systemd/system/farmhand.service
wants=/etc/systemd/system/multi-user.target.wants/farmhand.service

say() { echo "test-deb: $*"; }
fail() {
	echo "test-deb: FAIL: $*" >&2
	exit 1
}
skip() {
	[ "${CI:-}" = true ] && fail "$* (CI=true: nothing may be skipped)"
	echo "test-deb: SKIP: $*" >&2
	exit 0
}

[ $# -eq 1 ] || fail "usage: $0 FARMHAND.deb"
[ -f "$1" ] || fail "no package at $1 (run make package)"
deb=$(realpath "$1")
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root (sudo make package-test)"
for tool in dpkg dpkg-deb systemd-analyze deb-systemd-helper runuser; do
	command -v "$tool" >/dev/null || skip "$tool is missing: this test needs a Debian machine with systemd (apt-get install systemd)"
done

# The sandbox: this script again, in its own mount namespace, with writes
# to /etc, /usr and /var going to a tmpfs. A running systemd is hidden so
# that the maintainer scripts leave the machine's services alone.
if [ "${CI:-}" != true ] && [ -z "${FARMHAND_DEB_SANDBOX:-}" ]; then
	command -v unshare >/dev/null || skip "unshare is missing (util-linux): needed to keep the install off this machine"
	exec unshare --mount --propagation private env FARMHAND_DEB_SANDBOX=1 "$0" "$deb"
fi
if [ -n "${FARMHAND_DEB_SANDBOX:-}" ]; then
	top=$(mktemp -d)
	mount -t tmpfs farmhand-sandbox "$top" || skip "cannot mount a tmpfs for the sandbox"
	for d in etc usr var; do
		mkdir -p "$top/$d.upper" "$top/$d.work"
		mount -t overlay overlay -o "lowerdir=/$d,upperdir=$top/$d.upper,workdir=$top/$d.work" "/$d" ||
			skip "cannot mount an overlay on /$d for the sandbox (overlayfs)"
	done
	if [ -d /run/systemd ]; then mount -t tmpfs tmpfs /run/systemd; fi
	say "sandbox: /etc, /usr and /var are throwaway overlays; the machine is not changed"
fi

if dpkg-query -W -f='${db:Status-Abbrev}' farmhand 2>/dev/null | grep -q '^[ihr]'; then
	fail "farmhand is already installed here: the test needs a machine without it"
fi
[ ! -e /etc/farmhand ] || fail "/etc/farmhand already exists: the test needs a machine without farmhand"

# --- the package file: contents and conffiles against files.txt.

# manifest_paths [TYPES]: the paths of files.txt whose type is in TYPES.
manifest_paths() {
	awk -v types="${1:-fcd}" '!/^#/ && NF == 5 && index(types, $2) { print $1 }' "$manifest"
}

check_contents() {
	local perms owner path
	declare -A listed=()
	while read -r perms owner _ _ _ path; do
		path=${path#.}
		path=${path%/}
		[ -n "$path" ] || continue
		listed[$path]=1
		if ! manifest_paths | grep -qxF "$path"; then
			# Only parents like /usr/share/doc may come unlisted.
			[ "$perms $owner" = "drwxr-xr-x root/root" ] || fail "the package holds $path ($perms $owner), which files.txt does not list"
		fi
	done < <(dpkg-deb -c "$deb")
	for path in $(manifest_paths); do
		[ -n "${listed[$path]:-}" ] || fail "files.txt lists $path but the package does not hold it"
	done
	local want got
	want=$(manifest_paths c | sort)
	got=$(dpkg-deb --info "$deb" conffiles | sort)
	[ "$got" = "$want" ] || fail "conffiles are [$got], want [$want]"
	say "ok: the package holds exactly files.txt; conffiles: $got"
}

# --- the installed system.

status() { dpkg-query -W -f='${db:Status-Abbrev}' farmhand 2>/dev/null | tr -d ' ' || true; }

want_status() {
	local got
	got=$(status)
	[ "$got" = "$1" ] || fail "dpkg status of farmhand is '$got', want '$1'"
}

check_files() {
	local path type mode owner group want got
	while read -r path type mode owner group; do
		[ -e "$path" ] || fail "$path is missing"
		case "$type" in
		d) want="directory $mode $owner:$group" ;;
		*) want="regular file $mode $owner:$group" ;;
		esac
		got="$(stat -c '%F' "$path") $(printf '%04o' "0$(stat -c '%a' "$path")") $(stat -c '%U:%G' "$path")"
		[ "$got" = "$want" ] || fail "$path is $got, want $want"
	done < <(awk '!/^#/ && NF == 5' "$manifest")
	say "ok: every path of files.txt has its type, mode, owner and group"
}

check_user() {
	local pw gr uid gid home shell ggid
	pw=$(getent passwd farmhand) || fail "no user farmhand"
	gr=$(getent group farmhand) || fail "no group farmhand"
	IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
	IFS=: read -r _ _ ggid _ <<<"$gr"
	[ "$gid" = "$ggid" ] || fail "user farmhand's group is $gid, want farmhand ($ggid)"
	[ "$uid" -lt 1000 ] || fail "user farmhand has uid $uid, want a system uid (< 1000)"
	[ "$home" = /var/lib/farmhand ] || fail "user farmhand's home is $home, want /var/lib/farmhand"
	case "$shell" in */nologin) ;; *) fail "user farmhand's shell is $shell, want nologin" ;; esac
	say "ok: system user farmhand ($uid, group $ggid, home $home, shell $shell)"
}

check_binary() {
	local out
	out=$(farmhand version) || fail "farmhand version failed: $out"
	[[ "$out" == "farmhand "* ]] || fail "farmhand version printed '$out'"
	[ "$(command -v farmhand)" = /usr/bin/farmhand ] || fail "farmhand on PATH is $(command -v farmhand), want /usr/bin/farmhand"
	out=$(ldd /usr/bin/farmhand 2>&1 || true)
	[[ "$out" == *"not a dynamic executable"* ]] || fail "/usr/bin/farmhand is not static: $out"
	say "ok: $(farmhand version) (static)"
}

check_unit() {
	local out
	grep -q '^ExecStart=/usr/bin/farmhand agent ' "$unit" || fail "$unit does not start /usr/bin/farmhand"
	# verify exits 0 on some errors, so any line naming the unit fails too.
	out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
	if grep -F farmhand.service <<<"$out"; then fail "systemd-analyze verify $unit complained"; fi
	say "ok: systemd-analyze verify $unit"
}

# check_enabled yes|no: the enable link and the mask, and never running.
check_enabled() {
	if [ "$1" = yes ]; then
		# deb-systemd-helper may link /lib/systemd/system: the same file.
		[ -L "$wants" ] && [ "$(readlink -f "$wants")" = "$(readlink -f "$unit")" ] ||
			fail "farmhand.service is not enabled ($wants)"
	else
		[ ! -e "$wants" ] && [ ! -L "$wants" ] || fail "farmhand.service is enabled ($wants), want disabled"
	fi
	[ ! -L /etc/systemd/system/farmhand.service ] || fail "farmhand.service is masked"
	check_not_running
	say "ok: farmhand.service enabled=$1, not masked, not running"
}

check_not_running() {
	local p
	if [ -d /run/systemd/system ] && systemctl is-active --quiet farmhand.service; then
		fail "farmhand.service is running: the package must never start it"
	fi
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" != /usr/bin/farmhand ] || fail "a farmhand process runs (${p#/proc/}): the package must never start it"
	done
}

# The shipped config sets nothing, so the agent that systemd would start,
# as the user it would start it as, stops at once and names what is missing.
check_unconfigured_agent() {
	local out code=0
	out=$(timeout 30 runuser -u farmhand -- /usr/bin/farmhand agent \
		-config /etc/farmhand/farmhand.hcl -config-dir /etc/farmhand/conf.d 2>&1) || code=$?
	[ "$code" -eq 2 ] || fail "unconfigured agent exited $code, want 2 (invalid configuration): $out"
	for field in cluster registry.bucket gossip.keys; do
		grep -q "$field" <<<"$out" || fail "unconfigured agent did not name $field: $out"
	done
	if grep -qi "permission denied" <<<"$out"; then fail "user farmhand cannot read its config: $out"; fi
	say "ok: an unconfigured agent exits 2 naming cluster, registry.bucket and gossip.keys:"
	sed 's/^/    /' <<<"$out"
}

check_installed() {
	want_status ii
	check_binary
	check_unit
	check_user
	check_files
}

# owners_modes DEB: mode, owner and path of each entry.
owners_modes() { dpkg-deb -c "$1" | awk '$6 != "./" { print $1, $2, $6 }' | sort; }

# make_next_deb: the same package as version+1 in $next, for an upgrade.
# dpkg-deb -R drops owners; files.txt restores them (the user exists now).
make_next_deb() {
	local dir=$work/next path owner group
	mkdir -p "$dir"
	dpkg-deb -R "$deb" "$dir/root"
	while read -r path _ _ owner group; do
		chown "$owner:$group" "$dir/root$path"
	done < <(awk '!/^#/ && NF == 5' "$manifest")
	sed -i -E 's/^(Version: .*)-1$/\1.1-1/' "$dir/root/DEBIAN/control"
	next=$dir/farmhand-next.deb
	dpkg-deb -b "$dir/root" "$next" >/dev/null
	if ! diff <(owners_modes "$deb") <(owners_modes "$next"); then
		fail "the upgrade package's modes and owners differ from the package's"
	fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
marker="# changed by test-deb"

say "package $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version) $(dpkg-deb -f "$deb" Architecture)"
check_contents

say "--- install: dpkg -i"
dpkg -i "$deb"
check_installed
check_enabled yes
check_unconfigured_agent
make_next_deb

say "--- install again, with a changed config and a drop-in"
echo "$marker" >>/etc/farmhand/farmhand.hcl
install -m 0640 -g farmhand /dev/null /etc/farmhand/conf.d/10-role.hcl
echo 'role = "worker"' >/etc/farmhand/conf.d/10-role.hcl
dpkg -i "$deb"
check_installed
grep -qxF "$marker" /etc/farmhand/farmhand.hcl || fail "reinstall replaced the changed config"
check_enabled yes

say "--- upgrade, after the administrator disabled the service"
systemctl disable farmhand.service
dpkg -i "$next"
check_installed
grep -qxF "$marker" /etc/farmhand/farmhand.hcl || fail "upgrade replaced the changed config"
[ -f /etc/farmhand/conf.d/10-role.hcl ] || fail "upgrade removed a drop-in"
check_enabled no
say "ok: upgraded to $(dpkg-query -W -f='${Version}' farmhand); config kept, service still disabled"
systemctl enable farmhand.service

say "--- remove: dpkg -r"
echo "state" >/var/lib/farmhand/peers.json
dpkg -r farmhand
want_status rc
for path in /usr/bin/farmhand "$unit"; do
	[ ! -e "$path" ] || fail "$path is still there after remove"
done
grep -qxF "$marker" /etc/farmhand/farmhand.hcl || fail "remove did not keep the changed config"
[ -f /etc/farmhand/conf.d/10-role.hcl ] || fail "remove did not keep the drop-in"
[ "$(readlink /etc/systemd/system/farmhand.service)" = /dev/null ] || fail "remove did not mask farmhand.service"
check_user
check_not_running
say "ok: binary and unit gone; config, drop-in and user kept; the leftover enable link is masked"

say "--- reinstall over the kept config"
dpkg -i "$next"
check_installed
grep -qxF "$marker" /etc/farmhand/farmhand.hcl || fail "reinstall replaced the kept config"
check_enabled yes

say "--- purge: dpkg -P"
farmhand keygen >/etc/farmhand/gossip.key
echo "10.0.0.1 a" >/etc/farmhand/rendered/hosts
dpkg -P farmhand
want_status ""
for path in /etc/farmhand /var/lib/farmhand /usr/bin/farmhand "$unit" "$wants" /etc/systemd/system/farmhand.service; do
	[ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path is still there after purge"
done
check_user
say "ok: config, drop-ins, gossip key, rendered files, state and enable links gone; user and group kept"

say "--- install after purge"
dpkg -i "$deb"
check_installed
check_enabled yes
grep -qxF "$marker" /etc/farmhand/farmhand.hcl && fail "install after purge found the old config"
cmp -s /etc/farmhand/farmhand.hcl "$here/farmhand.hcl" || fail "install after purge did not ship the default config"
dpkg -P farmhand
want_status ""
say "PASS: install, reinstall, upgrade, remove, reinstall, purge and install again"
