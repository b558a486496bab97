// bench:storm's peer: what a site builds without netroot to boot the same diskless nodes — dnsmasq
// (DHCP with one static host entry per node, TFTP of iPXE), nginx (Debian nginx-light: the iPXE
// scripts, kernel and initrd) and tgt (one target per node, its volume file as LUN 1, the node's
// initiator name and CHAP account bound to it) — all in one namespace on its own veth leg.
// Each is run at its documented best for this load, and every setting that differs from the
// package's default is in `PEER_SETTINGS` (printed by the bench):
//   dnsmasq: --tftp-max raised from 50 to the node count (else transfers beyond 50 are refused),
//            lease file kept (as shipped: rewritten and fsynced on every change, like netroot's
//            durable journal), --quiet-dhcp (no log line per packet), no DNS (--port=0).
//   nginx:   worker_processes auto (one per core), sendfile + tcp_nopush, access_log off,
//            keepalive_requests 1000, worker_connections 4096.
//   tgtd:    --nr_iothreads 4 (per LUN; the default 16 would start 16 threads for each of 1,000
//            LUNs, and each node reads its LUN once).
import { execFile } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatIPv4, prefixToMask } from '../../src/net/address.js';
import { startIn, stop, waitUntil, type Child } from './children.js';
import type { StormNode } from './storm-worker.js';

const run = promisify(execFile);

export const PEER_NAME = 'dnsmasq+nginx+tgt';
export const PEER_HTTP_PORT = 8080;
export const PEER_SETTINGS = [
  'dnsmasq: one dhcp-host (MAC, fixed address, tag) and one dhcp-boot (its iPXE script URL) per node, ipxe.efi for the PXE ROM, --tftp-max <nodes> (default 50), --quiet-dhcp, lease file as shipped',
  'nginx-light: worker_processes auto, sendfile on, tcp_nopush on, access_log off, keepalive_requests 1000, worker_connections 4096',
  'tgt: one target per node (its volume file as LUN 1, rdwr backing store), bound to the node initiator name, its CHAP account; tgtd --nr_iothreads 4',
].join('; ');

export interface PeerFiles {
  /** The boot root netroot serves (ipxe.efi, install/vmlinuz, install/initrd.img): hard-linked, same inodes. */
  bootRoot: string;
  /** Each node's volume file, by host name. */
  volume: (host: string) => string;
}

export interface Peer {
  /** The nodes as the peer serves them: the same MACs, CHAP and volumes, the peer leg's addresses, LUN 1. */
  nodes: StormNode[];
  stop: () => Promise<void>;
}

/**
 * Starts the peer in `ns` at `serverAddr` on `iface` for `nodes` (netroot's, whose addresses are
 * mapped by `peerIp`). `work` is an empty directory readable by nginx's worker user.
 */
export async function startPeer(o: {
  ns: string;
  iface: string;
  serverAddr: string;
  prefixLen: number;
  work: string;
  files: PeerFiles;
  nodes: StormNode[];
  peerIp: (i: number) => string;
  ctl: number;
}): Promise<Peer> {
  const children: Child[] = [];
  const tftpRoot = join(o.work, 'tftp');
  const www = join(o.work, 'www');
  const files = join(www, 'boot', 'files', 'install');
  const scripts = join(www, 'boot', 'scripts');
  for (const d of [tftpRoot, files, scripts]) mkdirSync(d, { recursive: true, mode: 0o755 });
  chmodSync(o.work, 0o755);
  // Hard links: the peer serves the very bytes netroot serves (same inodes, same page cache).
  linkSync(join(o.files.bootRoot, 'ipxe.efi'), join(tftpRoot, 'ipxe.efi'));
  linkSync(join(o.files.bootRoot, 'install', 'vmlinuz'), join(files, 'vmlinuz'));
  linkSync(join(o.files.bootRoot, 'install', 'initrd.img'), join(files, 'initrd.img'));
  const base = `http://${o.serverAddr}:${PEER_HTTP_PORT}`;

  const nodes: StormNode[] = o.nodes.map((n, i) => ({
    ...n,
    ip: o.peerIp(i),
    iscsi: { ...n.iscsi, portal: o.serverAddr, port: 3260, lun: 1 },
  }));
  const dnsmasqConf: string[] = [
    'port=0',
    `interface=${o.iface}`,
    'bind-interfaces',
    `dhcp-range=${o.serverAddr},static,${formatIPv4(prefixToMask(o.prefixLen))},1h`,
    `dhcp-leasefile=${join(o.work, 'dnsmasq.leases')}`,
    `dhcp-lease-max=${nodes.length + 16}`,
    'dhcp-authoritative',
    'quiet-dhcp',
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:ipxe,175',
    'dhcp-boot=tag:!ipxe,ipxe.efi',
    'enable-tftp',
    `tftp-root=${tftpRoot}`,
    `tftp-max=${Math.max(50, nodes.length)}`,
  ];
  nodes.forEach((n, i) => {
    const script = `#!ipxe
kernel ${base}/boot/files/install/vmlinuz initrd=initrd.img netroot=iscsi:${n.iscsi.portal}::3260:1:${n.iscsi.target} || goto failed
initrd --name initrd.img ${base}/boot/files/install/initrd.img || goto failed
boot || goto failed
:failed
echo boot failed
`;
    writeFileSync(join(scripts, `${n.host}.ipxe`), script, { mode: 0o644 });
    dnsmasqConf.push(`dhcp-host=${n.mac},${n.ip},set:n${i}`, `dhcp-boot=tag:ipxe,tag:n${i},${base}/boot/scripts/${n.host}.ipxe`);
  });
  const dnsmasqFile = join(o.work, 'dnsmasq.conf');
  writeFileSync(dnsmasqFile, dnsmasqConf.join('\n') + '\n');
  // --no-daemon logs every TFTP transfer to stderr: children.ts reads it, so dnsmasq never blocks on a full pipe.
  const dnsmasq = startIn(o.ns, 'dnsmasq', ['--no-daemon', '--conf-file=' + dnsmasqFile, '--log-facility=-']);
  children.push(dnsmasq);

  const nginxConf = join(o.work, 'nginx.conf');
  writeFileSync(
    nginxConf,
    `user www-data;
worker_processes auto;
pid ${join(o.work, 'nginx.pid')};
error_log ${join(o.work, 'nginx-error.log')} warn;
events { worker_connections 4096; }
http {
  sendfile on;
  tcp_nopush on;
  access_log off;
  keepalive_requests 1000;
  default_type application/octet-stream;
  client_body_temp_path ${join(o.work, 'nginx-tmp')};
  server {
    listen ${o.serverAddr}:${PEER_HTTP_PORT};
    root ${www};
  }
}
`,
  );
  mkdirSync(join(o.work, 'nginx-tmp'), { mode: 0o755 });
  const nginx = startIn(o.ns, 'nginx', ['-c', nginxConf, '-e', join(o.work, 'nginx-error.log'), '-g', 'daemon off;']);
  children.push(nginx);

  rmSync(`/var/run/tgtd/socket.${o.ctl}`, { force: true });
  rmSync(`/var/run/tgtd/socket.${o.ctl}.lock`, { force: true });
  const tgtd = startIn(o.ns, 'tgtd', ['-f', '-C', String(o.ctl), '--nr_iothreads', '4', '--iscsi', `portal=${o.serverAddr}:3260`]);
  children.push(tgtd);
  const tgtadm = async (...args: string[]): Promise<string> => {
    try {
      return (await run('tgtadm', ['-C', String(o.ctl), '--lld', 'iscsi', ...args], { timeout: 30_000 })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`tgtadm ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
    }
  };
  const stopAll = async (): Promise<void> => {
    for (const c of children) await stop(c, 3000);
    rmSync(`/var/run/tgtd/socket.${o.ctl}`, { force: true });
    rmSync(`/var/run/tgtd/socket.${o.ctl}.lock`, { force: true });
  };
  try {
    let tgtUp = false;
    const probe = (): void => {
      run('tgtadm', ['-C', String(o.ctl), '--op', 'show', '--mode', 'sys'], { timeout: 5000 }).then(
        () => (tgtUp = true),
        () => undefined,
      );
    };
    await waitUntil(
      tgtd,
      'tgtd',
      () => {
        if (!tgtUp) probe();
        return tgtUp;
      },
      30_000,
    );
    // A few tgtadm calls at once: tgtd answers them one by one, the cost is in starting them.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < nodes.length; i = next++) {
        const n = nodes[i]!;
        const tid = String(i + 1);
        await tgtadm('--op', 'new', '--mode', 'target', '--tid', tid, '-T', n.iscsi.target);
        await tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', '1', '-b', o.files.volume(n.host));
        await tgtadm('--op', 'bind', '--mode', 'target', '--tid', tid, '--initiator-name', n.iscsi.initiator);
        await tgtadm('--op', 'new', '--mode', 'account', '--user', n.iscsi.user, '--password', n.iscsi.secret);
        await tgtadm('--op', 'bind', '--mode', 'account', '--tid', tid, '--user', n.iscsi.user);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    await waitUntil(nginx, 'nginx', () => true, 1000);
    await waitUntil(dnsmasq, 'dnsmasq', () => true, 1000);
  } catch (e) {
    await stopAll();
    throw e;
  }
  return {
    nodes,
    stop: stopAll,
  };
}
