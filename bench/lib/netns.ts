// Two network namespaces joined by one veth pair, for benchmarks that need a client and a server
// on separate stacks (real packets through the kernel, no loopback shortcuts). Every name starts
// with `<prefix>-<pid>` so a later run removes what a crashed or SIGKILLed run left behind
// (src/lab's removeStale). `destroy()` kills whatever still runs inside and deletes both
// namespaces; `onExit` makes sure it runs on normal exit, an uncaught error, SIGINT and SIGTERM.
import { ip, removeStale, deleteNamespace } from '../../src/lab/netns.js';
import { NetrootError } from '../../src/errors.js';

export interface VethPair {
  clientNs: string;
  serverNs: string;
  clientIf: string;
  serverIf: string;
  clientAddr: string;
  serverAddr: string;
  /** Prefix length of both addresses (one shared subnet). */
  prefixLen: number;
  destroy(): void;
}

export interface VethOptions {
  /** Namespace prefix, e.g. `nrb-dhcp`; names become `<prefix>-<pid>-c` / `-s`. */
  prefix: string;
  clientAddr: string;
  serverAddr: string;
  prefixLen: number;
}

export function createVethPair(o: VethOptions): VethPair {
  removeStale(o.prefix);
  const base = `${o.prefix}-${process.pid}`;
  const clientNs = `${base}-c`;
  const serverNs = `${base}-s`;
  // Interface names are limited to 15 bytes (IFNAMSIZ - 1).
  const clientIf = `nrbc${process.pid}`.slice(0, 15);
  const serverIf = `nrbs${process.pid}`.slice(0, 15);
  let done = false;
  const destroy = (): void => {
    if (done) return;
    done = true;
    deleteNamespace(clientNs);
    deleteNamespace(serverNs);
  };
  try {
    ip('netns', 'add', clientNs);
    ip('netns', 'add', serverNs);
    ip('link', 'add', clientIf, 'netns', clientNs, 'type', 'veth', 'peer', 'name', serverIf, 'netns', serverNs);
    for (const [ns, dev, addr] of [[clientNs, clientIf, o.clientAddr], [serverNs, serverIf, o.serverAddr]] as const) {
      ip('-n', ns, 'addr', 'add', `${addr}/${o.prefixLen}`, 'dev', dev);
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // The carrier comes up a moment after `link set up`; Kea refuses an interface that is not
    // RUNNING yet, so wait (bounded) for LOWER_UP on both ends.
    const deadline = Date.now() + 5000;
    while (![[clientNs, clientIf], [serverNs, serverIf]].every(([ns, dev]) => ip('-n', ns!, 'link', 'show', 'dev', dev!).includes('LOWER_UP'))) {
      if (Date.now() > deadline) throw new NetrootError('E_BENCH_NETNS', `veth ${clientIf}/${serverIf} has no carrier after 5 s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return { clientNs, serverNs, clientIf, serverIf, clientAddr: o.clientAddr, serverAddr: o.serverAddr, prefixLen: o.prefixLen, destroy };
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
