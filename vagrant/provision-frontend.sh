#!/usr/bin/env bash
# Provisions the netroot frontend VM: Node.js 20, the Debian packages netroot serves from
# (iPXE binaries, a kernel, busybox, iscsistart), then netroot as a systemd service.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg ipxe linux-image-amd64 busybox-static open-iscsi cpio kmod e2fsprogs python3 make g++
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  # Debian 12 ships Node 18; netroot needs 20 or newer.
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -qq nodejs
fi
cd /opt/netroot
npm ci --no-fund --no-audit
mkdir -p /var/lib/netroot
cat > /var/lib/netroot/netroot.yaml <<YAML
network:
  privateNetwork: 10.1.0.0/16
  frontendAddress: ${FRONTEND}
http:
  port: 80
dhcp:
  interfaces: [eth1]
YAML
node bin/netroot.js --state-dir /var/lib/netroot assets import
cat > /etc/systemd/system/netroot.service <<UNIT
[Unit]
Description=netroot frontend
After=network-online.target

[Service]
WorkingDirectory=/opt/netroot
ExecStart=/usr/bin/node /opt/netroot/bin/netroot.js --state-dir /var/lib/netroot serve
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now netroot
