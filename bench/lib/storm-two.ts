// bench:storm's two-server case (issue #21 part 4, "two netroot servers against one"): two
// `netroot serve` processes on one PostgreSQL, both on the client namespace's link, and the same
// virtual nodes booting from whichever answers.
//
// Network: its own namespaces `<prefix>-<pid>-c` (client) and `-a`, `-b` (one server each). The
// client namespace holds a bridge with one veth to each server namespace, so every broadcast
// (DISCOVER) reaches both servers, as on one provisioning VLAN. The subnet is bench:storm's own
// (NET, 10.61.0.0/16): client .0.2 and the nodes' addresses on the bridge, server A 10.61.0.1,
// server B 10.61.0.3; each server namespace has a permanent neighbour entry per node address
// (addNodeAddresses says why).
// Servers: each its own state dir and config (its own frontendAddress and DHCP interface), both
// `store.url` = one PostgreSQL (BENCH_STORE_URL, or a temporary one started through
// test/helpers/postgres.ts; its unix socket is reachable from any namespace, its 127.0.0.1 is not),
// both `storage.volumesDir` = one folder: each server's embedded target exports every volume of
// the store at start (reconcileStorage), so a node's volume is reachable through both. The hosts
// are registered once, in PostgreSQL, through the insert-ethers engine (registerHosts).
// A node takes the first OFFER, as PXE ROMs and iPXE do, and uses the server that answered: its
// TFTP next-server, its iPXE script's URLs and, for iSCSI, that server's portal (the storm plan's
// `portal: 'answering'`; the host's iscsi_portal attribute names the server that registered it).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ip, removeStale, deleteNamespace } from '../../src/lab/netns.js';
import { NetrootError } from '../../src/errors.js';
import { NET, registerHosts, startFrontend, writeConfig } from './attack-frontend.js';
import { stop, type Child } from './children.js';
import type { StormNode } from './storm-worker.js';

/** The two servers' addresses on the shared link. */
export const TWO_SERVERS = [
  { key: 'a', addr: NET.server },
  { key: 'b', addr: '10.61.0.3' },
] as const;
const BRIDGE = 'nrb2br';
const BRIDGE_MAC = '02:61:00:00:00:02';

export interface TwoServerNet {
  clientNs: string;
  /** The client namespace's interface every virtual node's address is on. */
  bridge: string;
  servers: Array<{ key: string; ns: string; iface: string; addr: string }>;
  destroy(): void;
}

export function createTwoServerNet(prefix: string, nodeAddrs: readonly string[]): TwoServerNet {
  removeStale(prefix);
  const base = `${prefix}-${process.pid}`;
  const clientNs = `${base}-c`;
  const servers = TWO_SERVERS.map((s) => ({
    key: s.key,
    ns: `${base}-${s.key}`,
    // IFNAMSIZ - 1 = 15 bytes; each name is created inside its own namespace.
    iface: `nrb2${s.key}s${process.pid}`.slice(0, 15),
    port: `nrb2${s.key}c${process.pid}`.slice(0, 15),
    addr: s.addr as string,
  }));
  let done = false;
  const destroy = (): void => {
    if (done) return;
    done = true;
    for (const s of servers) deleteNamespace(s.ns);
    deleteNamespace(clientNs);
  };
  const batch = (ns: string, lines: string[]): void => {
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join(''), stdio: ['pipe', 'ignore', 'pipe'] });
  };
  try {
    ip('netns', 'add', clientNs);
    ip('-n', clientNs, 'link', 'set', 'lo', 'up');
    ip('-n', clientNs, 'link', 'add', BRIDGE, 'address', BRIDGE_MAC, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    for (const s of servers) {
      ip('netns', 'add', s.ns);
      ip('link', 'add', s.port, 'netns', clientNs, 'type', 'veth', 'peer', 'name', s.iface, 'netns', s.ns);
      ip('-n', clientNs, 'link', 'set', s.port, 'master', BRIDGE);
      ip('-n', clientNs, 'link', 'set', s.port, 'up');
      ip('-n', s.ns, 'addr', 'add', `${s.addr}/${NET.prefixLen}`, 'dev', s.iface);
      ip('-n', s.ns, 'link', 'set', s.iface, 'up');
      ip('-n', s.ns, 'link', 'set', 'lo', 'up');
      batch(
        s.ns,
        nodeAddrs.map((a) => `neigh replace ${a} lladdr ${BRIDGE_MAC} dev ${s.iface} nud permanent\n`),
      );
    }
    ip('-n', clientNs, 'addr', 'add', `${NET.client}/${NET.prefixLen}`, 'dev', BRIDGE);
    ip('-n', clientNs, 'link', 'set', BRIDGE, 'up');
    batch(
      clientNs,
      nodeAddrs.map((a) => `addr add ${a}/${NET.prefixLen} dev ${BRIDGE}\n`),
    );
    // Carrier on every server end and the bridge (a bridge is up once a port is forwarding).
    const deadline = Date.now() + 5000;
    const up = (): boolean =>
      servers.every((s) => ip('-n', s.ns, 'link', 'show', 'dev', s.iface).includes('LOWER_UP')) &&
      ip('-n', clientNs, 'link', 'show', 'dev', BRIDGE).includes('LOWER_UP');
    while (!up()) {
      if (Date.now() > deadline) throw new NetrootError('E_BENCH_NETNS', `bridge ${BRIDGE} or its server links have no carrier after 5 s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return { clientNs, bridge: BRIDGE, servers: servers.map(({ key, ns, iface, addr }) => ({ key, ns, iface, addr })), destroy };
}

export interface TwoServers {
  /** Server A, then B. */
  frontends: Child[];
  /** The nodes as registered (portal: server A's address). */
  nodes: StormNode[];
  registerSeconds: number;
  stop(): Promise<void>;
}

/**
 * Registers `o.nodes` hosts in `o.storeUrl` (an empty PostgreSQL database) and starts both
 * servers on it, boot files from `o.bootRoot` (bench:storm's, shared), volumes in one folder.
 */
export async function startTwoServers(
  net: TwoServerNet,
  o: { work: string; bootRoot: string; storeUrl: string; logLevel: string; nodes: number; readBytes: number },
): Promise<TwoServers> {
  const volumesDir = join(o.work, 'volumes');
  mkdirSync(volumesDir, { recursive: true, mode: 0o755 });
  const prepared = net.servers.map((s) => {
    const stateDir = join(o.work, s.key, 'state');
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    const configFile = join(o.work, s.key, 'netroot.yaml');
    const config = writeConfig(configFile, stateDir, o.bootRoot, s.iface, o.logLevel, {
      store: { url: o.storeUrl },
      network: { frontendAddress: s.addr },
      storage: { volumesDir },
    });
    return { s, stateDir, configFile, config };
  });
  const t0 = performance.now();
  const nodes = await registerHosts(prepared[0]!.config, o.nodes, o.readBytes);
  const registerSeconds = (performance.now() - t0) / 1000;
  const frontends = await Promise.all(prepared.map((p) => startFrontend(p.s.ns, p.stateDir, p.configFile)));
  return {
    frontends,
    nodes,
    registerSeconds,
    async stop() {
      await Promise.all(frontends.map((f) => stop(f, 10_000)));
    },
  };
}
