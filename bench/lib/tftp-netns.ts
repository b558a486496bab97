// Two network namespaces joined by a veth pair, for benchmarks: `server` and `client`. Names are
// unique per run; remove() deletes both (also called on exit, SIGINT and SIGTERM).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface NsPair {
  server: string;
  client: string;
  /** Addresses in the server namespace (several, for several servers) and the client's. */
  serverIps: string[];
  clientIp: string;
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess;
  remove(): void;
}

const ip = (...a: string[]) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });

export function createNsPair(tag: string, serverAddrs = 2): NsPair {
  const id = `${tag}${process.pid % 100000}`;
  const server = `nrtb-${id}-s`;
  const client = `nrtb-${id}-c`;
  const octet = 100 + (process.pid % 100);
  const serverIps = Array.from({ length: serverAddrs }, (_, i) => `10.${octet}.0.${i + 1}`);
  const clientIp = `10.${octet}.0.100`;
  const children: ChildProcess[] = [];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of [server, client]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', remove);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      remove();
      process.exit(code);
    });
  }
  try {
    ip('netns', 'add', server);
    ip('netns', 'add', client);
    ip('-n', server, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', client);
    for (const a of serverIps) ip('-n', server, 'addr', 'add', `${a}/24`, 'dev', 'veth0');
    ip('-n', client, 'addr', 'add', `${clientIp}/24`, 'dev', 'veth1');
    for (const [ns, dev] of [[server, 'veth0'], [client, 'veth1']] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    remove();
    throw e;
  }
  return {
    server, client, serverIps, clientIp, remove,
    spawnIn(ns, cmd, args) {
      const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      return c;
    },
  };
}

/** Resolves when the child prints `text` on stdout (or rejects when it exits first). */
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
