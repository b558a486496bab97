#!/bin/sh
# netroot: first-boot personalisation of a golden clone (issue #20), run in the initrd against the
# node's root file system before switch_root:
#   sh /etc/netroot/personalise.sh ROOT
# by the busybox /init (ROOT=/newroot) and by dracut's pre-pivot hook (ROOT=$NEWROOT, registered by
# /etc/conf.d/91-netroot-firstboot.conf). It reads the node's facts from /etc/netroot/node.conf.
# Contract:
#   - nothing happens unless NETROOT_CLONE_ID is set (an installed node has none);
#   - it runs once per clone id: ROOT/var/lib/netroot/clone-id holds the id it last ran for, so a
#     reboot of the same clone changes nothing, and `boot=reset` (a new id) makes it run again — as
#     does a golden volume promoted from a personalised clone (its file holds another id);
#   - it writes: the host name (etc/hostname, the 127.0.1.1 line of etc/hosts), a new machine id
#     (under systemd an empty etc/machine-id: machine-id(5) — PID 1 makes a new id at boot and
#     systemd-machine-id-commit writes it, and an empty file, unlike a missing one or
#     "uninitialized", is not a "first boot", so no systemd-firstboot prompt can stop the boot;
#     without systemd, a fresh id), the node's iSCSI initiator name (its root's iscsid must
#     log in with the name the target's ACL knows), no SSH host keys (they are made again: Debian's
#     ssh.service drop-in of an image, and firstboot.sh below, run ssh-keygen -A), no DHCP leases
#     of the golden node, netroot's systemd-networkd file bound to this node's MAC;
#   - it installs ROOT/etc/netroot/firstboot.sh: what the clone's own OS runs once, at its first
#     boot (ssh-keygen -A where present, then the role's <firstboot> sections), started by
#     netroot-firstboot.service under systemd or by any init that runs it (the lab root's does);
#     the script renames itself to firstboot.sh.done when it has run;
#   - a read-only ROOT is remounted read-write for the changes and read-only again after;
#   - it never writes through a symbolic link (each file is removed and written anew), and uses
#     only sh, sed, cp, mv, rm, ln, mkdir and mount (what a dracut initrd has).
# Console lines start with "netroot-firstboot: ".
# Test hooks: NETROOT_NODE_CONF and NETROOT_FIRSTBOOT_ROLE name other files than the initrd's.
set -u
R=${1:?usage: personalise.sh ROOT}
NETROOT_CLONE_ID=
. "${NETROOT_NODE_CONF:-/etc/netroot/node.conf}"
role=${NETROOT_FIRSTBOOT_ROLE:-/etc/netroot/firstboot-role.sh}
say() { echo "netroot-firstboot: $*"; }

[ -n "$NETROOT_CLONE_ID" ] || exit 0
marker="$R/var/lib/netroot/clone-id"
last=
[ -f "$marker" ] && read -r last < "$marker"
if [ "$last" = "$NETROOT_CLONE_ID" ]; then
    say "clone $NETROOT_CLONE_ID of $NETROOT_HOSTNAME already personalised"
    exit 0
fi

remounted=
if ! (: > "$R/.netroot-rw") 2>/dev/null; then
    mount -o remount,rw "$R" || { say "FATAL: cannot remount $R read-write"; exit 1; }
    remounted=1
fi
rm -f "$R/.netroot-rw"

# put FILE TEXT: FILE (relative to ROOT) replaced by TEXT and a newline; a link is replaced, not followed.
put() {
    mkdir -p "$R/$(dirname_of "$1")"
    rm -f "$R/$1"
    printf '%s\n' "$2" > "$R/$1"
}
dirname_of() {
    case "$1" in */*) echo "${1%/*}" ;; *) echo . ;; esac
}
# cat_file FILE: FILE on standard output (dracut initrds have no cat).
cat_file() {
    while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < "$1"
}
has_systemd() {
    [ -e "$R/lib/systemd/systemd" ] || [ -e "$R/usr/lib/systemd/systemd" ]
}

put etc/hostname "$NETROOT_HOSTNAME"
if [ -f "$R/etc/hosts" ]; then
    sed -e '/^127\.0\.1\.1[[:space:]]/d' "$R/etc/hosts" > "$R/etc/hosts.netroot" && rm -f "$R/etc/hosts" && mv "$R/etc/hosts.netroot" "$R/etc/hosts"
fi
printf '127.0.1.1\t%s\n' "$NETROOT_HOSTNAME" >> "$R/etc/hosts"

if has_systemd; then
    rm -f "$R/etc/machine-id"
    : > "$R/etc/machine-id"
else
    read -r uuid < /proc/sys/kernel/random/uuid
    put etc/machine-id "$(echo "$uuid" | sed 's/-//g')"
fi
# D-Bus's copy, where it is a file of its own (Debian links it to etc/machine-id).
[ -L "$R/var/lib/dbus/machine-id" ] || rm -f "$R/var/lib/dbus/machine-id"

[ -d "$R/etc/iscsi" ] && put etc/iscsi/initiatorname.iscsi "InitiatorName=$NETROOT_INITIATOR"
rm -f "$R"/etc/ssh/ssh_host_*
rm -f "$R"/var/lib/dhcp/*.leases
net="$R/etc/systemd/network/50-netroot-boot.network"
if [ -f "$net" ] && [ -n "${NETROOT_MAC:-}" ]; then
    sed -e "s/^MACAddress=.*/MACAddress=$NETROOT_MAC/" "$net" > "$net.netroot" && rm -f "$net" && mv "$net.netroot" "$net"
fi

# The clone's own first boot: ssh-keygen -A (when the OS has it), then the role's sections.
fb="$R/etc/netroot/firstboot.sh"
mkdir -p "$R/etc/netroot"
rm -f "$fb" "$fb.done"
{
    echo '#!/bin/sh'
    echo "# netroot: first boot of clone $NETROOT_CLONE_ID ($NETROOT_HOSTNAME). Written by the initrd; runs once."
    echo 'echo "netroot-firstboot: first boot of $(hostname)"'
    echo 'if command -v ssh-keygen >/dev/null 2>&1; then ssh-keygen -A; fi'
    [ -f "$role" ] && cat_file "$role"
    echo 'mv -f /etc/netroot/firstboot.sh /etc/netroot/firstboot.sh.done'
    echo 'echo "netroot-firstboot: first boot done"'
} > "$fb.tmp"
# 0700: a role's section may hold the node's own secrets (the sync-client role's fetch secret);
# the file stays, renamed firstboot.sh.done, once it has run.
chmod 0700 "$fb.tmp"
mv "$fb.tmp" "$fb"
if has_systemd; then
    unit=etc/systemd/system/netroot-firstboot.service
    put "$unit" "[Unit]
Description=netroot: first boot of a golden clone (once)
ConditionPathExists=/etc/netroot/firstboot.sh
After=local-fs.target network.target
Before=ssh.service systemd-user-sessions.service

[Service]
Type=oneshot
ExecStart=/bin/sh /etc/netroot/firstboot.sh
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target"
    mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
    rm -f "$R/etc/systemd/system/multi-user.target.wants/netroot-firstboot.service"
    ln -s /etc/systemd/system/netroot-firstboot.service "$R/etc/systemd/system/multi-user.target.wants/netroot-firstboot.service"
fi

put var/lib/netroot/clone-id "$NETROOT_CLONE_ID"
sync 2>/dev/null
[ -n "$remounted" ] && mount -o remount,ro "$R"
say "personalised $NETROOT_HOSTNAME (clone $NETROOT_CLONE_ID)"
exit 0
