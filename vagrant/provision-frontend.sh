#!/usr/bin/env bash
# Provisions the netroot frontend VM so that `vagrant up node1 node2` nodes install and boot with no
# hand work: Node.js (current LTS), the Debian packages netroot serves from and builds with, netroot
# under systemd (packaging/netroot.service), the boot images the lab needs — the busybox base and
# installer initrds (the installer is netroot's lab installer: Anaconda needs a distribution tree)
# and a Debian 12 image with its own dracut initrd — and the attributes that point the
# compute-diskless appliance at that image and let root on the frontend log in to the nodes.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
NODE_MAJOR=24 # the current Node.js LTS; netroot supports 20 and 24 (README)

apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg ipxe linux-image-amd64 \
  busybox-static open-iscsi cpio kmod e2fsprogs python3 make g++ mmdebstrap extlinux syslinux-common openssh-client
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt "$NODE_MAJOR" ]; then
  # Debian 12 ships Node 18.
  curl -fsSL "https://deb.nodesource.com/setup_${NODE_MAJOR}.x" | bash -
  apt-get install -y -qq nodejs
fi
cd /opt/netroot
npm ci --no-fund --no-audit

netroot() { node /opt/netroot/bin/netroot.js --state-dir /var/lib/netroot "$@"; }
install -d -m 0700 /var/lib/netroot
cat > /var/lib/netroot/netroot.yaml <<YAML
network:
  privateNetwork: 10.1.0.0/16
  frontendAddress: ${FRONTEND}
http:
  port: 80
dhcp:
  interfaces: [eth1]
boot:
  # netroot's lab installer (initrd build-installer) installs when the kernel line says so.
  installArgs: "netroot.mode=install console=tty0 console=ttyS0,115200"
YAML
netroot assets import
kver=$(basename "$(ls -d /lib/modules/* | sort -V | tail -1)")
netroot initrd build-base --kernel-version "$kver"
netroot initrd build-installer --kernel-version "$kver"
netroot image show debian-12 >/dev/null 2>&1 || netroot image build debian-12
netroot attr set os_image debian-12 --appliance compute-diskless
# Root on the frontend logs in to every node with this key (the kickstart installs it).
[ -f /root/.ssh/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
netroot attr set ssh_authorized_key "$(cat /root/.ssh/id_ed25519.pub)"

install -m 0644 /opt/netroot/packaging/netroot.service /etc/systemd/system/netroot.service
systemctl daemon-reload
systemctl enable --now netroot
