#!/bin/sh
# netroot base initrd: /init (busybox sh). Brings a diskless node from kernel to its iSCSI root:
#   mount proc/sys/devtmpfs → load modules (lib/modules/netroot.load, dependency order) →
#   /etc/netroot/node.conf (per-node overlay, optional) → kernel command line → network up →
#   iscsistart login → wait for the root file system → mount → switch_root.
#
# Kernel command line (dracut-compatible subset; the command line wins over node.conf):
#   netroot=iscsi:[user:pass@]<server>:<proto>:<port>:<lun>:<target>   RFC 4173; [IPv6] server ok
#   root=iscsi:...                     same, and the whole LUN is the root file system
#   root=UUID=<uuid> | LABEL=<l> | /dev/<dev>
#   rd.iscsi.initiator=<iqn>           initiator name
#   rd.iscsi.param=<name>=<value>      open-iscsi session parameter (repeatable; iscsistart -P)
#   ip=dhcp | ip=<iface>:dhcp | ip=<client>:<peer>:<gw>:<netmask>:<hostname>:<iface>:none
#   ifname=<name>:<mac>                <name> in ip= means the NIC with that MAC (dracut's form; the
#                                      NIC is found by address, not renamed)
#   rootfstype=<fs> rootflags=<opts> ro|rw init=<path> rd.timeout=<s> rd.shell
#   netroot.mode=install               network up, then runs /etc/netroot/install.sh as a child
# CHAP credentials come from node.conf (NETROOT_CHAP_USER / NETROOT_CHAP_SECRET), never the
# command line; `user:pass@` in netroot= is accepted for dracut compatibility, with a warning.
#
# Console markers (one line each, prefix "netroot-initrd: ") for the lab's end-to-end tests:
#   start, modules loaded, network up <iface> <addr>, iscsi login ok, root found <dev>,
#   root mounted, switch_root <init>; failures: "FATAL: <why>".
#
# The file is also a library: sourced by a shell that is not PID 1, it only defines functions
# (tests call parse_cmdline with a fake command-line file).

say() {
    echo "netroot-initrd: $*"
}

# Every variable this script uses is reset here: the kernel passes unknown name=value arguments
# to init as environment variables, so nothing may be assumed empty.
nr_reset() {
    nr_root='' nr_netroot='' nr_target='' nr_portal='' nr_port='' nr_lun='' nr_initiator=''
    nr_ip='' nr_iface='' nr_autoconf='' nr_addr='' nr_peer='' nr_gw='' nr_mask='' nr_hostname=''
    nr_mode='' nr_shell=0 nr_rw=0 nr_rootfstype='' nr_rootflags='' nr_init=/sbin/init nr_timeout=60
    nr_chap_user='' nr_chap_secret='' nr_url_user='' nr_url_secret='' nr_err='' nr_root_dev=''
    nr_ifname='' nr_ifmac='' nr_params=''
}

# parse_netroot VALUE — RFC 4173 root path → nr_portal nr_port nr_lun nr_target (+ nr_url_user/secret).
# Returns 1 with nr_err set when the value is not usable.
parse_netroot() {
    _v=${1#iscsi:}
    if [ "$_v" = "$1" ]; then nr_err="netroot is not an iscsi: root path"; return 1; fi
    # Credentials: whatever precedes the first @, when four : follow it (dracut's rule).
    case "$_v" in
        *@*:*:*:*:*)
            _auth=${_v%%@*}
            _v=${_v#*@}
            if [ -n "$_auth" ]; then
                nr_url_user=${_auth%%:*}
                _rest=${_auth#*:}
                [ "$_rest" = "$_auth" ] && _rest=''
                nr_url_secret=${_rest%%:*}
            fi
            ;;
    esac
    case "$_v" in
        \[*\]:*)
            nr_portal=${_v#\[}
            nr_portal=${nr_portal%%\]:*}
            _v=${_v#*\]:}
            ;;
        *:*)
            nr_portal=${_v%%:*}
            _v=${_v#*:}
            ;;
        *) nr_err="netroot: fields missing after the server"; return 1 ;;
    esac
    # The target name runs from the last :iqn. / :eui. / :naa. to the end (names contain ':').
    nr_target=''
    case "$_v" in
        *:iqn.*) nr_target="iqn.${_v##*:iqn.}"; _v=${_v%:iqn.*} ;;
        *:eui.*) nr_target="eui.${_v##*:eui.}"; _v=${_v%:eui.*} ;;
        *:naa.*) nr_target="naa.${_v##*:naa.}"; _v=${_v%:naa.*} ;;
    esac
    _oldifs=$IFS
    IFS=:
    # shellcheck disable=SC2086
    set -- $_v
    IFS=$_oldifs
    _proto=${1:-}
    _port=${2:-}
    if [ -n "$nr_target" ]; then
        # <proto>:<port>[:<iface>:<netdev>]:<lun> — the last field is the LUN.
        if [ $# -gt 2 ]; then eval "_lun=\${$#}"; else _lun=''; fi
    else
        if [ $# -lt 4 ]; then nr_err="netroot: target name is missing"; return 1; fi
        _lun=$3
        # The target is the text after the third ':' (it may itself contain ':').
        nr_target=${_v#*:}
        nr_target=${nr_target#*:}
        nr_target=${nr_target#*:}
    fi
    case "$_proto" in
        ''|6) ;;
        *) nr_err="netroot: protocol $_proto is not TCP (6)"; return 1 ;;
    esac
    case "$_port" in
        '') _port=3260 ;;
        *[!0-9]*) nr_err="netroot: bad port $_port"; return 1 ;;
    esac
    if [ "$_port" -lt 1 ] || [ "$_port" -gt 65535 ]; then nr_err="netroot: port $_port out of range"; return 1; fi
    nr_port=$_port
    # LUN: hex, first 16-bit level of the SAM LUN (peripheral or flat addressing).
    _g=${_lun%%-*}
    case "$_g" in
        '') nr_lun=0 ;;
        *[!0-9A-Fa-f]*) nr_err="netroot: bad LUN $_lun"; return 1 ;;
        *)
            _n=$((0x$_g))
            if [ $((_n >> 14)) -eq 1 ]; then nr_lun=$((_n & 16383)); else nr_lun=$((_n & 255)); fi
            ;;
    esac
    if [ -z "$nr_portal" ]; then nr_err="netroot: server is missing"; return 1; fi
    if [ -z "$nr_target" ]; then nr_err="netroot: target name is missing"; return 1; fi
    return 0
}

# parse_ip VALUE — ip= in the forms listed at the top.
parse_ip() {
    _oldifs=$IFS
    IFS=:
    # shellcheck disable=SC2086
    set -- $1
    IFS=$_oldifs
    case $# in
        1)
            case "$1" in
                dhcp|on|any) nr_autoconf=dhcp ;;
                *) nr_err="ip=$1: unsupported (use dhcp, <iface>:dhcp or the 7-field static form)"; return 1 ;;
            esac
            ;;
        2|3|4)
            nr_iface=$1
            case "$2" in
                dhcp|on|any) nr_autoconf=dhcp ;;
                *) nr_err="ip=: unsupported autoconf $2"; return 1 ;;
            esac
            ;;
        *)
            nr_addr=$1 nr_peer=$2 nr_gw=$3 nr_mask=$4 nr_hostname=${5:-$nr_hostname} nr_iface=$6
            case "${7:-none}" in
                none|off|static) nr_autoconf=static ;;
                dhcp|on|any) nr_autoconf=dhcp ;;
                *) nr_err="ip=: unsupported autoconf $7"; return 1 ;;
            esac
            if [ "$nr_autoconf" = static ] && { [ -z "$nr_addr" ] || [ -z "$nr_mask" ]; }; then
                nr_err="ip=: a static address needs <client> and <netmask>"; return 1
            fi
            ;;
    esac
    return 0
}

# load_node_conf FILE — the per-node overlay's settings (defaults for what the command line omits).
load_node_conf() {
    [ -f "$1" ] || return 0
    NETROOT_HOSTNAME='' NETROOT_INITIATOR='' NETROOT_TARGET='' NETROOT_PORTAL='' NETROOT_PORT=''
    NETROOT_LUN='' NETROOT_ROOT_UUID='' NETROOT_INTERFACE='' NETROOT_CHAP_USER='' NETROOT_CHAP_SECRET=''
    NETROOT_MAC=''
    # shellcheck disable=SC1090
    . "$1"
    nr_hostname=$NETROOT_HOSTNAME
    nr_initiator=$NETROOT_INITIATOR
    nr_target=$NETROOT_TARGET
    nr_portal=$NETROOT_PORTAL
    nr_port=$NETROOT_PORT
    nr_lun=$NETROOT_LUN
    [ -n "$NETROOT_ROOT_UUID" ] && nr_root="UUID=$NETROOT_ROOT_UUID"
    nr_iface=$NETROOT_INTERFACE
    [ -n "$NETROOT_INTERFACE" ] && nr_autoconf=dhcp
    if [ -n "$NETROOT_MAC" ] && [ -n "$NETROOT_INTERFACE" ]; then nr_ifname=$NETROOT_INTERFACE nr_ifmac=$NETROOT_MAC; fi
    nr_chap_user=$NETROOT_CHAP_USER
    nr_chap_secret=$NETROOT_CHAP_SECRET
    return 0
}

# parse_cmdline [FILE] — reads the kernel command line (default /proc/cmdline) into nr_*.
# Returns 1 with nr_err set on the first unusable argument.
parse_cmdline() {
    _file=${1:-/proc/cmdline}
    [ -r "$_file" ] || { nr_err="cannot read $_file"; return 1; }
    _line=$(cat "$_file")
    set -f
    # shellcheck disable=SC2086
    set -- $_line
    set +f
    for _arg in "$@"; do
        case "$_arg" in
            netroot=*) nr_netroot=${_arg#netroot=} ;;
            root=*) nr_root=${_arg#root=} ;;
            rd.iscsi.initiator=*) nr_initiator=${_arg#rd.iscsi.initiator=} ;;
            rd.iscsi.param=*=*) nr_params="$nr_params ${_arg#rd.iscsi.param=}" ;;
            ip=*) nr_ip=${_arg#ip=} ;;
            ifname=*:*) _v=${_arg#ifname=}; nr_ifname=${_v%%:*}; nr_ifmac=${_v#*:} ;;
            rootfstype=*) nr_rootfstype=${_arg#rootfstype=} ;;
            rootflags=*) nr_rootflags=${_arg#rootflags=} ;;
            init=*) nr_init=${_arg#init=} ;;
            rd.timeout=*) nr_timeout=${_arg#rd.timeout=} ;;
            netroot.mode=*) nr_mode=${_arg#netroot.mode=} ;;
            rd.shell|rd.shell=1) nr_shell=1 ;;
            rw) nr_rw=1 ;;
            ro) nr_rw=0 ;;
        esac
    done
    # root=iscsi:... names the LUN itself as root (and takes precedence over netroot=).
    case "$nr_root" in
        iscsi:*) nr_netroot=$nr_root; nr_root=iscsi ;;
    esac
    if [ -n "$nr_netroot" ]; then
        parse_netroot "$nr_netroot" || return 1
    fi
    if [ -n "$nr_ip" ]; then
        parse_ip "$nr_ip" || return 1
    fi
    case "$nr_timeout" in
        ''|*[!0-9]*) nr_err="rd.timeout=$nr_timeout is not a number of seconds"; return 1 ;;
    esac
    # Credentials written in netroot= are used only when node.conf has none.
    if [ -n "$nr_url_user" ] && [ -z "$nr_chap_user" ]; then
        say "warning: CHAP credentials on the kernel command line are readable by every user of the node"
        nr_chap_user=$nr_url_user
        nr_chap_secret=$nr_url_secret
    fi
    return 0
}

# check_config — everything the boot needs is known.
check_config() {
    [ -n "$nr_initiator" ] || { nr_err="no initiator name (rd.iscsi.initiator= or node.conf)"; return 1; }
    [ -n "$nr_target" ] || { nr_err="no iSCSI target (netroot= or node.conf)"; return 1; }
    [ -n "$nr_portal" ] || { nr_err="no iSCSI portal (netroot= or node.conf)"; return 1; }
    [ -n "$nr_root" ] || { nr_err="no root file system (root= or node.conf)"; return 1; }
    [ -n "$nr_port" ] || nr_port=3260
    [ -n "$nr_autoconf" ] || nr_autoconf=dhcp
    return 0
}

fatal() {
    say "FATAL: $*"
    if [ "$nr_shell" = 1 ]; then
        say "rd.shell: starting a shell; exit it to reboot"
        setsid cttyhack sh || sh
    fi
    say "rebooting in 10 seconds"
    sleep 10
    reboot -f
    sleep 3600
}

load_modules() {
    _kver=$(uname -r)
    _list=/lib/modules/netroot.load
    [ -f "$_list" ] || { say "warning: no $_list"; return 0; }
    while read -r _m; do
        [ -n "$_m" ] || continue
        _out=$(insmod "/lib/modules/$_kver/$_m" 2>&1) || case "$_out" in
            *exists*|*'No such device'*) ;; # already loaded / hardware absent (e.g. crc32c-intel without SSE4.2)
            *) say "warning: module $_m: $_out" ;;
        esac
    done < "$_list"
    say "modules loaded"
}

# The network interfaces, lo excluded, in name order.
list_ifaces() {
    for _d in /sys/class/net/*; do
        _n=${_d##*/}
        [ "$_n" = lo ] || [ "$_n" = '*' ] || echo "$_n"
    done
}

# iface_by_mac MAC — the interface whose address is MAC (any case), or nothing.
iface_by_mac() {
    _want=$(echo "$1" | tr 'A-F' 'a-f')
    for _d in /sys/class/net/*; do
        [ -r "$_d/address" ] || continue
        [ "$(tr 'A-F' 'a-f' < "$_d/address")" = "$_want" ] && { echo "${_d##*/}"; return 0; }
    done
    return 1
}

net_up() {
    ip link set lo up 2>/dev/null
    _i=0
    while [ -z "$(list_ifaces)" ] && [ $_i -lt 20 ]; do sleep 1; _i=$((_i + 1)); done
    if [ -n "$nr_ifmac" ] && [ "$nr_iface" = "$nr_ifname" ]; then
        _i=0
        while ! _n=$(iface_by_mac "$nr_ifmac") && [ $_i -lt 20 ]; do sleep 1; _i=$((_i + 1)); done
        [ -n "$_n" ] || { nr_err="no interface has address $nr_ifmac (ifname=$nr_ifname:$nr_ifmac)"; return 1; }
        nr_iface=$_n
    fi
    if [ -n "$nr_iface" ]; then
        _i=0
        while [ ! -e "/sys/class/net/$nr_iface" ] && [ $_i -lt 20 ]; do sleep 1; _i=$((_i + 1)); done
        [ -e "/sys/class/net/$nr_iface" ] || { nr_err="interface $nr_iface did not appear"; return 1; }
        _cands=$nr_iface
    else
        _cands=$(list_ifaces)
    fi
    [ -n "$_cands" ] || { nr_err="no network interface"; return 1; }
    for _if in $_cands; do
        ip link set "$_if" up || continue
        if [ "$nr_autoconf" = static ]; then
            ifconfig "$_if" "$nr_addr" netmask "$nr_mask" up || continue
            if [ -n "$nr_gw" ]; then route add default gw "$nr_gw" dev "$_if" || true; fi
            nr_iface=$_if
            say "network up $_if $nr_addr"
            return 0
        fi
        if udhcpc -i "$_if" -s /etc/netroot/udhcpc.script -n -q -f -t 6 -T 3 ${nr_hostname:+-x "hostname:$nr_hostname"}; then
            nr_iface=$_if
            say "network up $_if $(ip -4 -o addr show dev "$_if" | awk '{print $4}')"
            return 0
        fi
    done
    nr_err="no DHCP lease on: $_cands"
    return 1
}

iscsi_login() {
    set -- -i "$nr_initiator" -t "$nr_target" -g 1 -a "$nr_portal" -p "$nr_port"
    if [ -n "$nr_chap_user" ]; then set -- "$@" -u "$nr_chap_user" -w "$nr_chap_secret"; fi
    set -f
    for _p in $nr_params; do set -- "$@" -P "$_p"; done
    set +f
    mkdir -p /etc/iscsi /run/lock /var/lock
    echo "InitiatorName=$nr_initiator" > /etc/iscsi/initiatorname.iscsi
    _try=1
    while [ $_try -le 5 ]; do
        if iscsistart "$@"; then
            say "iscsi login ok $nr_target at $nr_portal:$nr_port"
            return 0
        fi
        say "iscsi login attempt $_try failed"
        _try=$((_try + 1))
        sleep 2
    done
    nr_err="iscsi login to $nr_target at $nr_portal:$nr_port failed"
    return 1
}

# The block device of our LUN on an iSCSI session (for root=iscsi: and as a fallback).
lun_disk() {
    for _b in /sys/class/iscsi_session/session*/device/target*/*:*:*:"$nr_lun"/block/*; do
        [ -e "$_b" ] && { echo "/dev/${_b##*/}"; return 0; }
    done
    return 1
}

find_root() {
    _i=0
    while [ $_i -lt "$nr_timeout" ]; do
        _dev=''
        case "$nr_root" in
            UUID=*|LABEL=*) _dev=$(findfs "$nr_root" 2>/dev/null) ;;
            /dev/*) [ -b "$nr_root" ] && _dev=$nr_root ;;
            iscsi) _dev=$(lun_disk) ;;
        esac
        if [ -n "$_dev" ] && [ -b "$_dev" ]; then
            nr_root_dev=$_dev
            say "root found $_dev"
            return 0
        fi
        sleep 1
        _i=$((_i + 1))
    done
    nr_err="root file system $nr_root did not appear within ${nr_timeout}s"
    return 1
}

mount_root() {
    mkdir -p /newroot
    _opts=ro
    [ "$nr_rw" = 1 ] && _opts=rw
    [ -n "$nr_rootflags" ] && _opts="$_opts,$nr_rootflags"
    if [ -n "$nr_rootfstype" ]; then
        mount -t "$nr_rootfstype" -o "$_opts" "$nr_root_dev" /newroot || { nr_err="mount $nr_root_dev failed"; return 1; }
    else
        mount -o "$_opts" "$nr_root_dev" /newroot || { nr_err="mount $nr_root_dev failed"; return 1; }
    fi
    say "root mounted"
    return 0
}

# netroot.mode=install: bring the network up (ip=dhcp, ip=<iface>:dhcp or static, as for a
# diskless boot), then run the installer as a child process, so that its `exit` can never end
# PID 1. The installer ends in `reboot -f`; returning at all is a failure (nr_err says why).
install_mode() {
    _inst=${1:-/etc/netroot/install.sh}
    if [ ! -f "$_inst" ]; then
        nr_err="netroot.mode=install, but this initrd has no $_inst"
        return 1
    fi
    say "install mode"
    [ -n "$nr_hostname" ] && hostname "$nr_hostname"
    net_up || return 1
    sh "$_inst"
    _rc=$?
    nr_err="installer returned (status $_rc)"
    return 1
}

main() {
    PATH=/sbin:/bin:/usr/sbin:/usr/bin
    export PATH
    nr_reset
    mkdir -p /proc /sys /dev /run /tmp
    mount -t proc -o nosuid,nodev,noexec proc /proc
    mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
    mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
    exec </dev/console >/dev/console 2>&1
    say "start $(uname -r)"
    load_modules
    load_node_conf /etc/netroot/node.conf
    parse_cmdline /proc/cmdline || fatal "$nr_err"
    if [ "$nr_mode" = install ]; then
        install_mode
        fatal "$nr_err"
    fi
    check_config || fatal "$nr_err"
    [ -n "$nr_hostname" ] && hostname "$nr_hostname"
    net_up || fatal "$nr_err"
    iscsi_login || fatal "$nr_err"
    find_root || fatal "$nr_err"
    mount_root || fatal "$nr_err"
    if [ ! -x "/newroot$nr_init" ] && [ ! -L "/newroot$nr_init" ]; then
        fatal "$nr_init not found on the root file system"
    fi
    # A golden clone's first-boot personalisation (the overlay's; once per clone id, issue #20).
    if [ -f /etc/netroot/personalise.sh ]; then
        sh /etc/netroot/personalise.sh /newroot || say "first-boot personalisation failed (status $?)"
    fi
    for _m in /dev /proc /sys /run; do
        if [ -d "/newroot$_m" ]; then mount --move "$_m" "/newroot$_m" 2>/dev/null || umount -l "$_m"; else umount -l "$_m"; fi
    done 2>/dev/null
    say "switch_root $nr_init"
    exec switch_root /newroot "$nr_init"
}

if [ "$$" = 1 ]; then
    main "$@"
fi
