// Two network namespaces joined by one veth pair, for benchmarks that need a client and a server
// on separate stacks (real packets through the kernel, no loopback shortcuts): the one helper every
// bench uses (DHCP, TFTP, iSCSI, attack). Every namespace name starts with `<prefix>-<pid>` so a
// later run removes what a crashed or SIGKILLed run left behind (src/lab's removeStale). The server
// side may carry several addresses (one per server under test, all on the same port). `spawnIn`
// starts a process in a namespace and tracks it; `destroy()` kills those and whatever else still runs
// inside, and deletes both namespaces; `onExit` makes sure it runs on normal exit, an uncaught error,
// SIGINT and SIGTERM.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { ip, removeStale, deleteNamespace } from '../../src/lab/netns.js';
import { NetrootError } from '../../src/errors.js';

export interface VethPair {
  clientNs: string;
  serverNs: string;
  clientIf: string;
  serverIf: string;
  clientAddr: string;
  /** The server side's first address. */
  serverAddr: string;
  /** Every server-side address, in the order given. */
  serverAddrs: string[];
  /** Prefix length of all addresses (one shared subnet). */
  prefixLen: number;
  /** Starts `cmd` inside a namespace (stdin ignored, stdout/stderr piped); killed by destroy(). */
  spawnIn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /**
   * One more server namespace `<prefix>-<pid>-<name>` on a veth of its own to the client
   * namespace (its own subnet): for servers that cannot share one link, such as two DHCP servers
   * measured side by side. destroy() deletes it too.
   */
  addLeg(o: LegOptions): Leg;
  destroy(): void;
}

export interface LegOptions {
  /** A short name (letters), part of the namespace and interface names. */
  name: string;
  clientAddr: string;
  serverAddr: string;
  prefixLen: number;
}

export interface Leg {
  serverNs: string;
  clientIf: string;
  serverIf: string;
  clientAddr: string;
  serverAddr: string;
  prefixLen: number;
}

export interface VethOptions {
  /** Namespace prefix, e.g. `nrb-dhcp`; names become `<prefix>-<pid>-c` / `-s`. */
  prefix: string;
  clientAddr: string;
  /** One address, or several (the first is `serverAddr`). */
  serverAddr: string | string[];
  prefixLen: number;
}

export function createVethPair(o: VethOptions): VethPair {
  removeStale(o.prefix);
  const serverAddrs = typeof o.serverAddr === 'string' ? [o.serverAddr] : [...o.serverAddr];
  if (serverAddrs.length === 0) throw new NetrootError('E_BENCH_NETNS', 'a veth pair needs a server address');
  const base = `${o.prefix}-${process.pid}`;
  const clientNs = `${base}-c`;
  const serverNs = `${base}-s`;
  // Interface names are limited to 15 bytes (IFNAMSIZ - 1); each is created inside its namespace.
  const clientIf = `nrbc${process.pid}`.slice(0, 15);
  const serverIf = `nrbs${process.pid}`.slice(0, 15);
  const children: ChildProcess[] = [];
  const legs: string[] = [];
  let done = false;
  const destroy = (): void => {
    if (done) return;
    done = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of legs) deleteNamespace(ns);
    deleteNamespace(clientNs);
    deleteNamespace(serverNs); // deleting a namespace removes its end of the veth, and so the pair
  };
  try {
    ip('netns', 'add', clientNs);
    ip('netns', 'add', serverNs);
    ip('link', 'add', clientIf, 'netns', clientNs, 'type', 'veth', 'peer', 'name', serverIf, 'netns', serverNs);
    ip('-n', clientNs, 'addr', 'add', `${o.clientAddr}/${o.prefixLen}`, 'dev', clientIf);
    for (const a of serverAddrs) ip('-n', serverNs, 'addr', 'add', `${a}/${o.prefixLen}`, 'dev', serverIf);
    for (const [ns, dev] of [
      [clientNs, clientIf],
      [serverNs, serverIf],
    ] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    waitCarrier(clientNs, clientIf, serverNs, serverIf);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    clientNs,
    serverNs,
    clientIf,
    serverIf,
    clientAddr: o.clientAddr,
    serverAddr: serverAddrs[0]!,
    serverAddrs,
    prefixLen: o.prefixLen,
    destroy,
    addLeg(l) {
      if (!/^[a-z]{1,3}$/.test(l.name)) throw new NetrootError('E_BENCH_NETNS', `leg name ${JSON.stringify(l.name)}: 1–3 lowercase letters`);
      const ns = `${base}-${l.name}`;
      const cIf = `nrb${l.name}c${process.pid}`.slice(0, 15);
      const sIf = `nrb${l.name}s${process.pid}`.slice(0, 15);
      legs.push(ns);
      ip('netns', 'add', ns);
      ip('link', 'add', cIf, 'netns', clientNs, 'type', 'veth', 'peer', 'name', sIf, 'netns', ns);
      ip('-n', clientNs, 'addr', 'add', `${l.clientAddr}/${l.prefixLen}`, 'dev', cIf);
      ip('-n', ns, 'addr', 'add', `${l.serverAddr}/${l.prefixLen}`, 'dev', sIf);
      ip('-n', clientNs, 'link', 'set', cIf, 'up');
      ip('-n', ns, 'link', 'set', sIf, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      waitCarrier(clientNs, cIf, ns, sIf);
      return { serverNs: ns, clientIf: cIf, serverIf: sIf, clientAddr: l.clientAddr, serverAddr: l.serverAddr, prefixLen: l.prefixLen };
    },
    spawnIn(ns, cmd, args, opts = {}) {
      const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
      children.push(c);
      return c;
    },
  };
}

/**
 * The carrier comes up a moment after `link set up`; Kea refuses an interface that is not RUNNING
 * yet, so wait (bounded) for LOWER_UP on both ends.
 */
function waitCarrier(aNs: string, aIf: string, bNs: string, bIf: string): void {
  const deadline = Date.now() + 5000;
  while (
    ![
      [aNs, aIf],
      [bNs, bIf],
    ].every(([ns, dev]) => ip('-n', ns!, 'link', 'show', 'dev', dev!).includes('LOWER_UP'))
  ) {
    if (Date.now() > deadline) throw new NetrootError('E_BENCH_NETNS', `veth ${aIf}/${bIf} has no carrier after 5 s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

/**
 * Gives the client end of a link the virtual nodes' addresses `addrs` (/prefixLen), each in one
 * `ip -batch`, and the server end a permanent neighbour entry for each (the client veth's MAC).
 * Why the entries: the kernel's ARP table is one for every namespace, and its garbage collector's
 * hard limit (net.ipv4.neigh.default.gc_thresh3, 1024) counts learnt entries of them all; a storm
 * of 1,000 nodes on two legs learns 2,000 and the kernel drops packets ("neighbor table
 * overflow"). Permanent entries are not counted (Linux ≥ 4.19) and need no ARP exchange.
 */
export function addNodeAddresses(
  link: { clientNs: string; clientIf: string; serverNs: string; serverIf: string },
  addrs: readonly string[],
  prefixLen: number,
): void {
  const batch = (ns: string, lines: string[]): void => {
    execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join(''), stdio: ['pipe', 'ignore', 'pipe'] });
  };
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(ip('-n', link.clientNs, 'link', 'show', 'dev', link.clientIf))?.[1];
  if (!mac) throw new NetrootError('E_BENCH_NETNS', `no MAC address on ${link.clientIf}`);
  batch(
    link.clientNs,
    addrs.map((a) => `addr add ${a}/${prefixLen} dev ${link.clientIf}\n`),
  );
  batch(
    link.serverNs,
    addrs.map((a) => `neigh replace ${a} lladdr ${mac} dev ${link.serverIf} nud permanent\n`),
  );
}

/** Resolves when the child prints `text` on stdout (or rejects when it exits first or time runs out). */
export function waitForOutput(c: ChildProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`no "${text}" in ${timeoutMs} ms: ${err}`)), timeoutMs);
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    });
    c.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    c.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code} before "${text}": ${err}`));
    });
  });
}

/** Runs `cleanup` once when the process ends for any reason short of SIGKILL. */
export function onExit(cleanup: () => void): void {
  let ran = false;
  const once = (): void => {
    if (ran) return;
    ran = true;
    try {
      cleanup();
    } catch (e) {
      console.error('cleanup failed:', e);
    }
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      once();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    console.error(e);
    once();
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    console.error(e);
    once();
    process.exit(1);
  });
}
