#!/bin/sh
# netroot-sync: the node side of `netroot sync users` (Rocks' 411). Fetches the frontend's signed
# payload, checks it, and installs the accounts of the synced UID range, the munge key and the
# frontend's hosts list. POSIX sh + sed/awk/base64 (coreutils) + curl + openssl 3 (Ed25519 verify).
#
# usage: netroot-sync [--root DIR] [--conf FILE] [--file ENVELOPE]
#   --root DIR       install into DIR instead of / (tests, image builds); no service is restarted then
#   --conf FILE      default <root>/etc/netroot/sync.conf
#   --file ENVELOPE  apply this envelope instead of fetching one (tests, offline install)
#
# sync.conf (0600, written by the sync-client role from the kickstart) sets, as shell assignments:
#   NETROOT_SYNC_URL      http://<frontend>:<port>     (the payload is <URL>/sync/v1/payload)
#   NETROOT_SYNC_SECRET   this node's fetch secret     (sent as Authorization: Bearer, never on a command line)
#   NETROOT_SYNC_PUBKEY   the frontend's Ed25519 public key: base64 of its DER SubjectPublicKeyInfo
#   NETROOT_SYNC_MIN_UID, NETROOT_SYNC_MAX_UID   the range this node lets the frontend manage (default 1000 59999)
#   NETROOT_SYNC_MAX_BYTES  largest envelope fetched (default 8388608)
#
# Contract:
#   - nothing is changed unless the envelope's signature verifies with NETROOT_SYNC_PUBKEY (tamper),
#     its serial is above the last applied one in <root>/var/lib/netroot-sync/serial (replay), its
#     UID range lies inside this node's, and every section is complete and well formed;
#   - on a refusal every file stays as it was, the reason goes to stderr (the journal under systemd)
#     and the exit status is 1; "nothing new" (HTTP 304) and a successful install exit 0;
#   - accounts: passwd, group, shadow (and gshadow, when present) lines whose UID/GID is inside the
#     range are replaced by the payload's; every other line (system accounts) is kept as it is; a
#     payload name that a kept line already uses refuses the payload;
#   - /etc/hosts: only the block between "# netroot-sync begin" and "# netroot-sync end" is replaced;
#   - the munge key is written 0400, owned by the root's `munge` user when it has one, and munge is
#     restarted (try-restart) only when the key changed; its bytes never reach stdout, stderr or a file
#     another user can read (temporary files live in a 0700 directory; umask 077);
#   - each file is replaced by rename(2) from a complete temporary in its own directory (a reader sees
#     the old or the new file); the serial is recorded last.
set -eu
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C

ROOT=
CONF=
FILE=
while [ $# -gt 0 ]; do
	case $1 in
	--root) ROOT=${2:?--root needs a directory}; shift 2 ;;
	--conf) CONF=${2:?--conf needs a file}; shift 2 ;;
	--file) FILE=${2:?--file needs a file}; shift 2 ;;
	*) echo "netroot-sync: unknown argument: $1" >&2; exit 2 ;;
	esac
done
ROOT=${ROOT%/}
[ -n "$CONF" ] || CONF=$ROOT/etc/netroot/sync.conf

say() { echo "netroot-sync: $*" >&2; }
refuse() {
	say "refused, keeping the last good files: $*"
	exit 1
}

[ -r "$CONF" ] || { say "cannot read $CONF"; exit 2; }
# shellcheck disable=SC1090
. "$CONF"
MIN=${NETROOT_SYNC_MIN_UID:-1000}
MAX=${NETROOT_SYNC_MAX_UID:-59999}
MAXBYTES=${NETROOT_SYNC_MAX_BYTES:-8388608}
: "${NETROOT_SYNC_PUBKEY:?sync.conf sets no NETROOT_SYNC_PUBKEY}"

STATE=$ROOT/var/lib/netroot-sync
mkdir -p "$STATE"
LAST=0
if [ -s "$STATE/serial" ]; then LAST=$(cat "$STATE/serial"); fi
case $LAST in '' | *[!0-9]*) LAST=0 ;; esac

# One run at a time (the boot unit and the timer may meet).
exec 9>"$STATE/lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

command -v openssl >/dev/null 2>&1 || { say "openssl is not installed: no payload can be checked (apt-get install openssl)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netroot-sync.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM

if [ -n "$FILE" ]; then
	cp "$FILE" "$WORK/envelope"
else
	: "${NETROOT_SYNC_URL:?sync.conf sets no NETROOT_SYNC_URL}"
	: "${NETROOT_SYNC_SECRET:?sync.conf sets no NETROOT_SYNC_SECRET}"
	command -v curl >/dev/null 2>&1 || { say "curl is not installed (apt-get install curl)"; exit 1; }
	# The secret goes to curl on its standard input (-K -), never in its arguments (ps shows those).
	code=$(printf 'header = "Authorization: Bearer %s"\n' "$NETROOT_SYNC_SECRET" |
		curl -sS -K - --max-time 60 --max-filesize "$MAXBYTES" -H "If-None-Match: \"$LAST\"" \
			-o "$WORK/envelope" -w '%{http_code}' "$NETROOT_SYNC_URL/sync/v1/payload") || {
		say "cannot fetch $NETROOT_SYNC_URL/sync/v1/payload (curl exit $?)"
		exit 1
	}
	case $code in
	200) ;;
	304) exit 0 ;;
	404) say "the frontend has published nothing yet (netroot sync users)"; exit 0 ;;
	401 | 403) say "the frontend refused this node's credential (HTTP $code): reinstall the node or check its address"; exit 1 ;;
	*) say "the frontend answered HTTP $code"; exit 1 ;;
	esac
fi

size=$(wc -c <"$WORK/envelope")
[ "$size" -le "$MAXBYTES" ] || refuse "envelope larger than $MAXBYTES bytes"
[ "$(sed -n 1p "$WORK/envelope")" = 'netroot-sync-envelope 1' ] || refuse "not a version 1 sync envelope"
sig=$(sed -n 2p "$WORK/envelope")
case $sig in
"signature ed25519 "*) ;;
*) refuse "no Ed25519 signature line" ;;
esac
printf '%s' "${sig#signature ed25519 }" | base64 -d >"$WORK/sig" 2>/dev/null || refuse "signature is not base64"
[ "$(wc -c <"$WORK/sig")" -eq 64 ] || refuse "signature is not 64 bytes"
tail -n +3 "$WORK/envelope" >"$WORK/payload"
{
	echo '-----BEGIN PUBLIC KEY-----'
	echo "$NETROOT_SYNC_PUBKEY"
	echo '-----END PUBLIC KEY-----'
} >"$WORK/pub.pem"
openssl pkeyutl -verify -pubin -inkey "$WORK/pub.pem" -rawin -in "$WORK/payload" -sigfile "$WORK/sig" >/dev/null 2>&1 ||
	refuse "bad signature (tampered, or signed by another frontend)"

# From here the payload is the frontend's. Its header:
[ "$(sed -n 1p "$WORK/payload")" = 'netroot-sync 1' ] || refuse "unsupported payload version"
serial=$(sed -n '2s/^serial \([1-9][0-9]*\)$/\1/p' "$WORK/payload")
[ -n "$serial" ] || refuse "no serial"
[ "$serial" -gt "$LAST" ] || refuse "serial $serial is not above the last applied one ($LAST): replayed or old payload"
range=$(sed -n '4s/^uid-range \([0-9][0-9]*\) \([0-9][0-9]*\)$/\1 \2/p' "$WORK/payload")
[ -n "$range" ] || refuse "no uid-range"
pmin=${range% *}
pmax=${range#* }
[ "$pmin" -ge "$MIN" ] && [ "$pmax" -le "$MAX" ] && [ "$pmin" -le "$pmax" ] ||
	refuse "uid-range $pmin-$pmax is not inside this node's $MIN-$MAX"

# Split the sections; awk checks the counts, the order and the final "end".
awk -v dir="$WORK" -v min="$pmin" -v max="$pmax" '
	function fail(m) { print "netroot-sync: refused, keeping the last good files: " m > "/dev/stderr"; bad = 1; exit 1 }
	NR <= 4 { next }
	left > 0 { print > (dir "/s." sec); left--; next }
	{
		want = order[++k]
		if (want == "") { if ($0 == "end") { done = 1; next } fail("bytes after the end line") }
		if ($1 != want || NF != 2 || $2 !~ /^[0-9]+$/) fail("expected section " want " at line " NR)
		sec = want; left = $2 + 0
		printf "" > (dir "/s." sec)
	}
	BEGIN { split("passwd group shadow hosts munge-key", order, " ") }
	END {
		if (bad) exit 1
		if (!done || left > 0) { print "netroot-sync: refused, keeping the last good files: truncated payload" > "/dev/stderr"; exit 1 }
	}' "$WORK/payload" || exit 1

# Every synced account must lie in the range; names must not collide with kept (system) lines.
check() { # file, id field, what
	awk -F: -v f="$2" -v min="$pmin" -v max="$pmax" -v what="$3" '
		($f !~ /^[0-9]+$/ || $f + 0 < min || $f + 0 > max) { print "netroot-sync: refused, keeping the last good files: " what " " $1 " outside the range" > "/dev/stderr"; exit 1 }' "$1"
}
check "$WORK/s.passwd" 3 user
check "$WORK/s.group" 3 group

# merge SECTION TARGET IDFIELD: kept lines of TARGET (id outside the range, name not in the section)
# then the section's lines, into $WORK/new.<name>. A kept line whose name the section uses refuses.
merge() {
	sec=$1 target=$2 idf=$3 out=$WORK/new.$(basename "$2")
	[ -f "$target" ] || : >"$target"
	awk -F: -v idf="$idf" -v min="$pmin" -v max="$pmax" '
		FILENAME == ARGV[1] { mine[$1] = 1; next }
		{
			inrange = ($idf ~ /^[0-9]+$/ && $idf + 0 >= min && $idf + 0 <= max)
			if (inrange) next
			if ($1 in mine) { print "netroot-sync: refused, keeping the last good files: " $1 " is a local account outside the synced range" > "/dev/stderr"; exit 1 }
			print
		}' "$sec" "$target" >"$out" || return 1
	cat "$sec" >>"$out"
}
merge "$WORK/s.passwd" "$ROOT/etc/passwd" 3 || exit 1
merge "$WORK/s.group" "$ROOT/etc/group" 3 || exit 1
# shadow/gshadow have no id: a line goes when its name was an in-range account here or is in the payload.
awk -F: -v min="$pmin" -v max="$pmax" '$3 ~ /^[0-9]+$/ && $3 + 0 >= min && $3 + 0 <= max { print $1 }' "$ROOT/etc/passwd" >"$WORK/old.users"
awk -F: -v min="$pmin" -v max="$pmax" '$3 ~ /^[0-9]+$/ && $3 + 0 >= min && $3 + 0 <= max { print $1 }' "$ROOT/etc/group" >"$WORK/old.groups"
cut -d: -f1 "$WORK/s.passwd" >"$WORK/new.users"
cut -d: -f1 "$WORK/s.group" >"$WORK/new.groups"
drop() { # GONE1 GONE2 TARGET: TARGET's lines whose name is in neither list
	awk -F: 'FILENAME == ARGV[1] || FILENAME == ARGV[2] { gone[$1] = 1; next } !($1 in gone)' "$@"
}
[ -f "$ROOT/etc/shadow" ] || : >"$ROOT/etc/shadow"
drop "$WORK/old.users" "$WORK/new.users" "$ROOT/etc/shadow" >"$WORK/new.shadow"
cat "$WORK/s.shadow" >>"$WORK/new.shadow"
if [ -f "$ROOT/etc/gshadow" ]; then
	drop "$WORK/old.groups" "$WORK/new.groups" "$ROOT/etc/gshadow" >"$WORK/new.gshadow"
	awk -F: '{ print $1 ":!::" $4 }' "$WORK/s.group" >>"$WORK/new.gshadow"
fi

# /etc/hosts: the node's own lines, then the frontend's list in a marked block.
[ -f "$ROOT/etc/hosts" ] || : >"$ROOT/etc/hosts"
awk '/^# netroot-sync begin$/ { skip = 1; next } /^# netroot-sync end$/ { skip = 0; next } !skip' "$ROOT/etc/hosts" >"$WORK/new.hosts"
{
	echo '# netroot-sync begin'
	cat "$WORK/s.hosts"
	echo '# netroot-sync end'
} >>"$WORK/new.hosts"

# id of NAME in the root's passwd/group (field 3), empty when absent.
idof() { awk -F: -v n="$1" '$1 == n { print $3; exit }' "$2"; }

# install NEW TARGET MODE OWNER GROUP: a temporary beside TARGET with the mode and owner, then rename.
install_file() {
	tmp=$(dirname "$2")/.$(basename "$2").netroot-sync.$$
	rm -f "$tmp"
	cp "$1" "$tmp"
	chmod "$3" "$tmp"
	if [ "$(id -u)" = 0 ]; then chown "$4:$5" "$tmp"; fi
	mv -f "$tmp" "$2"
}
mode_of() { if [ -e "$1" ]; then stat -c %a "$1"; else echo "$2"; fi; }
owner_of() { if [ -e "$1" ]; then stat -c %u "$1"; else echo 0; fi; }
group_of() { if [ -e "$1" ]; then stat -c %g "$1"; else echo 0; fi; }

# The munge key: decoded straight into a 0400 file in a 0700 directory; never echoed.
mungechanged=0
if [ -s "$WORK/s.munge-key" ]; then
	tr -d '\n' <"$WORK/s.munge-key" | base64 -d >"$WORK/munge.key" 2>/dev/null || refuse "munge key is not base64"
	[ "$(wc -c <"$WORK/munge.key")" -ge 32 ] || refuse "munge key shorter than 32 bytes"
fi

for f in group passwd; do
	install_file "$WORK/new.$f" "$ROOT/etc/$f" "$(mode_of "$ROOT/etc/$f" 644)" "$(owner_of "$ROOT/etc/$f")" "$(group_of "$ROOT/etc/$f")"
done
for f in shadow gshadow; do
	[ -f "$WORK/new.$f" ] || continue
	install_file "$WORK/new.$f" "$ROOT/etc/$f" "$(mode_of "$ROOT/etc/$f" 640)" "$(owner_of "$ROOT/etc/$f")" "$(group_of "$ROOT/etc/$f")"
done
install_file "$WORK/new.hosts" "$ROOT/etc/hosts" "$(mode_of "$ROOT/etc/hosts" 644)" "$(owner_of "$ROOT/etc/hosts")" "$(group_of "$ROOT/etc/hosts")"
if [ -f "$WORK/munge.key" ]; then
	key=$ROOT/etc/munge/munge.key
	if ! cmp -s "$WORK/munge.key" "$key" 2>/dev/null; then
		mkdir -p "$ROOT/etc/munge"
		uid=$(idof munge "$ROOT/etc/passwd")
		gid=$(idof munge "$ROOT/etc/group")
		if [ -z "$uid" ]; then
			say "no munge user in $ROOT/etc/passwd: the munge key is owned by root"
			uid=0 gid=0
		fi
		chmod 0700 "$ROOT/etc/munge"
		if [ "$(id -u)" = 0 ]; then chown "$uid:${gid:-0}" "$ROOT/etc/munge"; fi
		install_file "$WORK/munge.key" "$key" 0400 "$uid" "${gid:-0}"
		mungechanged=1
	fi
fi
printf '%s\n' "$serial" >"$STATE/serial.new"
mv -f "$STATE/serial.new" "$STATE/serial"

if [ -z "$ROOT" ] && [ "$mungechanged" = 1 ] && command -v systemctl >/dev/null 2>&1; then
	systemctl try-restart munge.service || say "munge did not restart: check journalctl -u munge"
fi
if [ -z "$ROOT" ] && command -v nscd >/dev/null 2>&1; then nscd -i passwd -i group 2>/dev/null || true; fi
users=$(grep -c . "$WORK/s.passwd" || true)
hosts=$(grep -c . "$WORK/s.hosts" || true)
munge=no
[ "$mungechanged" = 1 ] && munge=changed
[ -f "$WORK/munge.key" ] && [ "$mungechanged" = 0 ] && munge=unchanged
say "applied serial $serial: $users users in $pmin-$pmax, $hosts hosts, munge key $munge"
