#!/bin/sh
# netroot lab installer (busybox sh). The lab cannot run Anaconda (no package mirrors), so this
# executes the subset of a node's real kickstart that the diskless role uses, in Anaconda's order:
#   fetch inst.ks → %pre blocks → iscsiname/iscsi (login) → ignoredisk --only-use (must name the
#   iSCSI LUN) → zerombr/clearpart/part / --fstype=ext4 → liveimg --url=<tar.gz> → /etc/fstab with
#   UUID= (as Anaconda writes it) → %post blocks (chroot unless --nochroot) → reboot/poweroff.
# Without an iscsi command the target is the node's first local disk (or ignoredisk --only-use=
# <name>); `autopart` then means one ext4 root partition, and `bootloader --location=mbr` installs
# extlinux with the installed root's own /boot/vmlinuz-<v> and /boot/initrd.img-<v> (the image's
# dracut initrd, fetched from beside the liveimg tarball when the root has none).
# Commands that only configure what a lab root does not have are accepted and logged as ignored;
# anything else is an error (the node stops and says which command).
# Test hooks: NETROOT_CMDLINE (file used instead of /proc/cmdline), NETROOT_KS (a local kickstart
# file instead of fetching inst.ks), NETROOT_INSTALLER_MODE=plan (parse and print the plan only).
set -u

WORK=${NETROOT_WORK:-/tmp/ks}
SYSIMAGE=${NETROOT_SYSIMAGE:-/mnt/sysimage}
MODE=${NETROOT_INSTALLER_MODE:-install}

log() { echo "netroot-installer: $*"; }
die() {
  echo "netroot-installer: ERROR: $*"
  [ "$MODE" = plan ] && exit 1
  sync
  sleep 2
  poweroff -f
  exit 1
}

cmdline=$(cat "${NETROOT_CMDLINE:-/proc/cmdline}")
karg() {
  for w in $cmdline; do
    case "$w" in "$1="*) echo "${w#"$1"=}"; return 0 ;; esac
  done
  return 1
}

# --key=value from an option list; empty when absent.
opt() {
  key=$1
  shift
  for a in "$@"; do
    case "$a" in "--$key="*) echo "${a#--"$key"=}"; return 0 ;; "--$key") echo yes; return 0 ;; esac
  done
  echo ""
}

mkdir -p "$WORK"
if [ -n "${NETROOT_KS:-}" ]; then
  cp "$NETROOT_KS" "$WORK/ks.cfg"
else
  ks_url=$(karg inst.ks) || die "no inst.ks= on the kernel command line"
  log "fetching kickstart $ks_url"
  wget -q -O "$WORK/ks.cfg" "$ks_url" || die "cannot fetch the kickstart from $ks_url"
fi
log "kickstart fetched"

# Split the kickstart: main commands, and one file per %pre/%post block with its header options.
rm -f "$WORK"/main "$WORK"/pre.* "$WORK"/post.*
awk -v dir="$WORK" '
  BEGIN { sec = "main"; n = 0; file = "" }
  /^%(pre|post)([ \t]|$)/ {
    sec = substr($1, 2); n++; file = sprintf("%s/%s.%03d", dir, sec, n)
    hdr = $0; sub(/^%[a-z]+[ \t]*/, "", hdr); print hdr > (file ".args"); printf "" > file; next
  }
  /^%packages([ \t]|$)/ { sec = "packages"; next }
  /^%end[ \t]*$/ { sec = "main"; next }
  /^%/ { print "unsupported section " $1 > (dir "/errors"); sec = "skip"; next }
  sec == "main" { print > (dir "/main"); next }
  sec == "pre" || sec == "post" { print > file; next }
' "$WORK/ks.cfg"
[ -s "$WORK/errors" ] && die "$(head -n 1 "$WORK/errors")"
touch "$WORK/main"

run_blocks() {
  kind=$1
  for f in "$WORK/$kind".[0-9][0-9][0-9]; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC2046
    set -- $(cat "$f.args")
    interp=$(opt interpreter "$@"); nochroot=$(opt nochroot "$@"); erroronfail=$(opt erroronfail "$@")
    interp=${interp:-/bin/sh}
    if [ "$MODE" = plan ]; then
      echo "plan: %$kind ${f##*.} interpreter=$interp nochroot=${nochroot:-no}"
      continue
    fi
    log "running %$kind ${f##*.}"
    if [ "$kind" = post ] && [ -z "$nochroot" ]; then
      cp "$f" "$SYSIMAGE/tmp/netroot-ks-post.sh"
      chroot "$SYSIMAGE" "$interp" /tmp/netroot-ks-post.sh
      rc=$?
      rm -f "$SYSIMAGE/tmp/netroot-ks-post.sh"
    else
      "$interp" "$f"
      rc=$?
    fi
    if [ $rc -ne 0 ]; then
      [ -n "$erroronfail" ] && die "%$kind ${f##*.} failed with status $rc"
      log "%$kind ${f##*.} exited with status $rc (no --erroronfail: continuing, as Anaconda does)"
    fi
  done
}

run_blocks pre

initiator="" portal="" port=3260 target="" chap_user="" chap_pass="" only_use="" clear="" root_fs="" liveimg="" final=reboot hostname=""
bootloader=none boot_append=""
while read -r cmd rest; do
  # shellcheck disable=SC2086
  set -- $rest
  case "$cmd" in
    '' | '#'*) ;;
    iscsiname) initiator=$1 ;;
    iscsi)
      portal=$(opt ipaddr "$@"); target=$(opt target "$@"); chap_user=$(opt user "$@"); chap_pass=$(opt password "$@")
      p=$(opt port "$@"); [ -n "$p" ] && port=$p
      [ -n "$portal" ] && [ -n "$target" ] || die "iscsi needs --ipaddr and --target"
      ;;
    ignoredisk) only_use=$(opt only-use "$@"); [ -n "$only_use" ] || die "ignoredisk: only --only-use is supported" ;;
    zerombr) ;;
    clearpart) clear=yes ;;
    autopart) root_fs=ext4; log "autopart: the lab installer makes one ext4 root partition" ;;
    bootloader)
      loc=$(opt location "$@"); bootloader=${loc:-mbr}; boot_append=$(opt append "$@")
      case "$bootloader" in mbr | none) ;; *) die "bootloader --location=$bootloader: the lab installer supports mbr and none" ;; esac
      ;;
    part)
      [ "${1:-}" = / ] || die "part: the lab installer creates only the root filesystem (part / ...), not ${1:-?}"
      root_fs=$(opt fstype "$@"); root_fs=${root_fs:-ext4}
      [ "$root_fs" = ext4 ] || die "part /: only --fstype=ext4 is supported, not $root_fs"
      ;;
    liveimg) liveimg=$(opt url "$@"); [ -n "$liveimg" ] || die "liveimg needs --url" ;;
    reboot | poweroff | halt | shutdown) final=$cmd ;;
    network)
      h=$(opt hostname "$@"); [ -n "$h" ] && hostname=$h
      log "network: the installed system configures its NIC itself (dracut, DHCP)${hostname:+; hostname $hostname}"
      ;;
    lang | keyboard | timezone | rootpw | text | cmdline | skipx | firstboot | selinux | firewall | services | eula | user | group | authselect | auth | logging | url | repo | install | graphical)
      log "ignored in the lab: $cmd"
      ;;
    *) die "the lab installer does not understand the kickstart command: $cmd" ;;
  esac
done < "$WORK/main"

if [ -n "$target" ]; then
  [ -n "$initiator" ] || die "no iscsiname: the diskless role must name the node's initiator"
fi
[ -n "$root_fs" ] || die "no part / command"
[ -n "$liveimg" ] || die "no liveimg --url: the lab installs from a root tarball"
by_path="/dev/disk/by-path/ip-$portal:$port-iscsi-$target-lun-"

if [ "$MODE" = plan ]; then
  if [ -n "$target" ]; then echo "plan: login initiator=$initiator target=$target portal=$portal:$port chap=${chap_user:+yes}"; else echo "plan: local disk"; fi
  echo "plan: bootloader $bootloader"
  echo "plan: disk only-use=${only_use:-any} clear=${clear:-no} root=$root_fs"
  echo "plan: liveimg $liveimg"
  run_blocks post
  echo "plan: then $final"
  exit 0
fi

if [ -n "$target" ]; then
  log "logging in to $target at $portal:$port as $initiator"
  if [ -n "$chap_user" ]; then
    iscsistart -i "$initiator" -t "$target" -g 1 -a "$portal" -p "$port" -u "$chap_user" -w "$chap_pass" || die "iSCSI login to $target failed"
  else
    iscsistart -i "$initiator" -t "$target" -g 1 -a "$portal" -p "$port" || die "iSCSI login to $target failed"
  fi

  # The LUN's disk: a SCSI disk whose sysfs path runs through an iSCSI session (no udev here, so
  # /dev/disk/by-path does not exist; the name ignoredisk gives is checked against the login instead).
  dev="" lun=""
  i=0
  while [ -z "$dev" ] && [ $i -lt 100 ]; do
    for b in /sys/block/sd*; do
      [ -e "$b" ] || continue
      path=$(readlink -f "$b/device")
      case "$path" in *session*) dev=/dev/${b##*/}; lun=${path##*:} ;; esac
    done
    [ -z "$dev" ] && sleep 0.2
    i=$((i + 1))
  done
  [ -n "$dev" ] || die "no disk appeared after the iSCSI login"
  if [ -n "$only_use" ]; then
    case "$only_use" in
      "$by_path$lun" | "$by_path"0x*) ;;
      *) die "ignoredisk --only-use=$only_use is not the logged-in LUN ($by_path$lun)" ;;
    esac
  fi
  log "iscsi login ok: $dev is lun $lun"
else
  # A local disk: the one ignoredisk names, else the first disk that is not on an iSCSI session.
  dev=""
  i=0
  while [ -z "$dev" ] && [ $i -lt 50 ]; do
    for b in /sys/block/sd* /sys/block/vd* /sys/block/hd* /sys/block/nvme*n*; do
      [ -e "$b" ] || continue
      case "$(readlink -f "$b/device")" in *session*) continue ;; esac
      name=${b##*/}
      if [ -n "$only_use" ] && [ "$only_use" != "$name" ] && [ "$only_use" != "/dev/$name" ]; then continue; fi
      dev=/dev/$name
      break
    done
    [ -z "$dev" ] && sleep 0.2
    i=$((i + 1))
  done
  [ -n "$dev" ] || die "no local disk${only_use:+ named $only_use} to install onto"
  log "local disk: $dev"
fi

[ -n "$clear" ] && dd if=/dev/zero of="$dev" bs=512 count=2048 2>/dev/null
# One primary partition over the whole disk, marked active (the MBR code boots the active one).
printf 'o\nn\np\n1\n\n\na\n1\nw\n' | fdisk "$dev" >/dev/null 2>&1
blockdev --rereadpt "$dev" 2>/dev/null
case "$dev" in *[0-9]) part="${dev}p1" ;; *) part="${dev}1" ;; esac
i=0
while [ ! -b "$part" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -b "$part" ] || die "partition $part did not appear"
uuid=$(cat /proc/sys/kernel/random/uuid)
mkfs.ext4 -q -F -U "$uuid" -L netroot-root "$part" || die "mkfs.ext4 on $part failed"
mkdir -p "$SYSIMAGE"
mount -t ext4 "$part" "$SYSIMAGE" || die "cannot mount $part"
log "root filesystem created: UUID=$uuid on $part"

log "unpacking $liveimg"
wget -q -O - "$liveimg" | tar -xz -C "$SYSIMAGE" || die "cannot unpack $liveimg"
mkdir -p "$SYSIMAGE/etc" "$SYSIMAGE/tmp" "$SYSIMAGE/dev" "$SYSIMAGE/proc" "$SYSIMAGE/sys"
echo "UUID=$uuid / ext4 defaults 0 1" > "$SYSIMAGE/etc/fstab"
# As Anaconda does: the installed system keeps the initiator name it was installed with (its
# iscsid must present the name the target's ACL knows) and the host name from `network`.
if [ -n "$initiator" ] && [ -d "$SYSIMAGE/etc/iscsi" ]; then
  echo "InitiatorName=$initiator" > "$SYSIMAGE/etc/iscsi/initiatorname.iscsi"
  chmod 0600 "$SYSIMAGE/etc/iscsi/initiatorname.iscsi"
fi
[ -n "$hostname" ] && echo "$hostname" > "$SYSIMAGE/etc/hostname"
# A node on its own disk configures its NIC itself, as Anaconda writes `network --bootproto=dhcp`
# into the installed system: systemd-networkd, the NIC matched by its MAC (its name changes).
# A diskless root's NIC is already up from the initrd (dracut) and is left alone.
if [ -z "$target" ]; then
  netif=$(ip route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  [ -n "$netif" ] || netif=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ print $2; exit }')
  mac=$(cat "/sys/class/net/$netif/address" 2>/dev/null)
  if [ -n "$mac" ] && { [ -x "$SYSIMAGE/lib/systemd/systemd-networkd" ] || [ -x "$SYSIMAGE/usr/lib/systemd/systemd-networkd" ]; }; then
    mkdir -p "$SYSIMAGE/etc/systemd/network"
    printf '[Match]\nMACAddress=%s\n\n[Network]\nDHCP=ipv4\n' "$mac" > "$SYSIMAGE/etc/systemd/network/50-netroot-boot.network"
    # Enabled as `systemctl enable` would (WantedBy=multi-user.target; the unit Wants= its socket).
    unit=/lib/systemd/system/systemd-networkd.service
    [ -e "$SYSIMAGE$unit" ] || unit=/usr/lib/systemd/system/systemd-networkd.service
    mkdir -p "$SYSIMAGE/etc/systemd/system/multi-user.target.wants"
    ln -sf "$unit" "$SYSIMAGE/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    log "network: DHCP on the NIC with address $mac (systemd-networkd)"
  else
    log "network: no systemd-networkd in the installed system; its NIC is not configured"
  fi
fi
log "image unpacked"

mount --bind /dev "$SYSIMAGE/dev"
mount -t proc proc "$SYSIMAGE/proc"
mount -t sysfs sysfs "$SYSIMAGE/sys"
if [ "$bootloader" = mbr ]; then
  kernel=$(ls "$SYSIMAGE"/boot/vmlinuz-* 2>/dev/null | sort | tail -n 1)
  [ -n "$kernel" ] || die "bootloader: no /boot/vmlinuz-<version> in the installed root"
  kver=${kernel##*/vmlinuz-}
  if [ ! -f "$SYSIMAGE/boot/initrd.img-$kver" ]; then
    # Anaconda runs the installed system's dracut here. netroot serves an image's dracut initrd
    # (built by that same dracut with the image's own configuration) next to its root tarball,
    # images/<name>/initrd.img: fetching it saves minutes of dracut under emulation.
    wget -q -O "$SYSIMAGE/boot/initrd.img-$kver" "${liveimg%/*}/initrd.img" || die "bootloader: no /boot/initrd.img-$kver in the installed root, and none at ${liveimg%/*}/initrd.img"
  fi
  command -v extlinux >/dev/null 2>&1 && [ -f /usr/lib/netroot/mbr.bin ] || die "bootloader --location=mbr: this installer has no extlinux (build it on a frontend with the extlinux and syslinux-common packages)"
  consoles=""
  for w in $cmdline; do case "$w" in console=*) consoles="$consoles $w" ;; esac; done
  mkdir -p "$SYSIMAGE/boot/extlinux"
  {
    echo "DEFAULT linux"
    echo "PROMPT 0"
    echo "TIMEOUT 1"
    echo "LABEL linux"
    echo "  KERNEL /boot/vmlinuz-$kver"
    echo "  INITRD /boot/initrd.img-$kver"
    echo "  APPEND root=UUID=$uuid ro$consoles${boot_append:+ $boot_append}"
  } > "$SYSIMAGE/boot/extlinux/extlinux.conf"
  extlinux --install "$SYSIMAGE/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"
  dd if=/usr/lib/netroot/mbr.bin of="$dev" bs=440 count=1 conv=notrunc 2>/dev/null || die "cannot write the MBR boot code to $dev"
  log "bootloader: extlinux on $dev, kernel $kver"
fi

run_blocks post
log "%post done"
umount "$SYSIMAGE/sys" "$SYSIMAGE/proc" "$SYSIMAGE/dev"
sync
umount "$SYSIMAGE" || die "cannot unmount $SYSIMAGE"
sync
log "installation complete: $final"
case "$final" in
  reboot) reboot -f ;;
  *) poweroff -f ;;
esac
