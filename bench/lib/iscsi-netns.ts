// Two network namespaces joined by a veth pair, for iSCSI benchmarks: the targets run in the
// server namespace, the initiators (iscsi-perf, qemu-img) in the client namespace, so traffic
// crosses a real (virtual) link instead of loopback. Names carry this process's pid
// (`nrib-<pid>-s|c`), so a later run removes what a crashed run left behind (removeStale).
// The server side gets two addresses, one per target, so both listen on port 3260 at once.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { deleteNamespace, ip, removeStale } from '../../src/lab/netns.js';

export const NS_PREFIX = 'nrib';

export interface BenchNet {
  server: string;
  client: string;
  /** Server-side addresses: [0] for netroot, [1] for the peer. */
  serverAddrs: [string, string];
  clientAddr: string;
  /** Start a process inside a namespace (never detached: it dies with its namespace's cleanup). */
  exec(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): void;
}

export function createBenchNet(): BenchNet {
  removeStale(NS_PREFIX);
  const tag = `${NS_PREFIX}-${process.pid}`;
  const server = `${tag}-s`;
  const client = `${tag}-c`;
  // 10.250.<pid-derived>.0/24: private, only reachable inside these namespaces.
  const net = `10.250.${process.pid % 250}`;
  const serverAddrs: [string, string] = [`${net}.1`, `${net}.2`];
  const clientAddr = `${net}.10`;
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    deleteNamespace(client);
    deleteNamespace(server); // deleting a namespace removes its end of the veth, and so the pair
  };
  try {
    ip('netns', 'add', server);
    ip('netns', 'add', client);
    const vs = `nribs${process.pid % 100000}`;
    const vc = `nribc${process.pid % 100000}`;
    ip('link', 'add', vs, 'type', 'veth', 'peer', 'name', vc);
    ip('link', 'set', vs, 'netns', server);
    ip('link', 'set', vc, 'netns', client);
    ip('-n', server, 'addr', 'add', `${serverAddrs[0]}/24`, 'dev', vs);
    ip('-n', server, 'addr', 'add', `${serverAddrs[1]}/24`, 'dev', vs);
    ip('-n', client, 'addr', 'add', `${clientAddr}/24`, 'dev', vc);
    for (const [ns, dev] of [[server, vs], [client, vc]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    server,
    client,
    serverAddrs,
    clientAddr,
    exec: (ns, cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }),
    destroy,
  };
}
