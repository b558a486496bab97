// `netroot serve` as a child process for the several-servers tests (issue #21): HTTP on loopback
// at a port the kernel picks, optionally with its clock skewed (skew-clock.ts), and a GET from a
// chosen source address (a node's).
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

export interface Served {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** `netroot serve` on loopback (HTTP only) with its clock skewed by skewMs; resolves once it listens. */
export async function serve(dir: string, flags: string[], skewMs = 0): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './test/helpers/skew-clock.ts', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NETROOT_TEST_CLOCK_SKEW_MS: String(skewMs) } },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /http on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && out.includes('netroot: off')) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
  });
  return { child, port, exited, stderr: () => stderr };
}

export function fetchFrom(port: number, path: string, from: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

export function serveFlags(url: string): string[] {
  return [
    ...['--set', `store.url=${url}`, '--set', 'http.host=127.0.0.1', '--set', 'http.port=0', '--set', 'tftp.enabled=false', '--set', 'iscsi.enabled=false'],
    ...['--set', 'network.frontendAddress=127.0.0.1', '--set', 'network.privateNetwork=127.0.0.0/8'],
    ...['--set', 'servers.heartbeatSeconds=1', '--set', 'servers.staleSeconds=3'],
  ];
}
