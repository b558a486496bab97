// A window larger than the socket's send buffer: the link's queue (native/tftpio) holds what the
// kernel refuses with EAGAIN and writes it when the socket is writable again. On loopback and veth
// the kernel frees a datagram's buffer at once, so the queue would never fill; here a tbf qdisc on
// the server's veth paces the link at 200 Mbit/s and holds the datagrams, as a real NIC's TX ring
// does, and the server's send buffer is 128 KiB (the kernel doubles it) against 4 MiB windows. Namespaces are created by this test and deleted afterwards.
import { test } from 'node:test';
import { ip, deleteNamespace, removeStale } from '../../src/lab/netns.js';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tempStateDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && process.env.CI !== 'true' ? 'needs root (network namespaces, tc)' : false;
const P = `nrt-tftpq-${process.pid}`;
const NS = { server: `${P}-s`, client: `${P}-c` };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Our namespaces, and those a crashed earlier run of this test left behind. */
function cleanup(): void {
  for (const ns of Object.values(NS)) deleteNamespace(ns);
  removeStale('nrt-tftpq');
}

interface Run {
  body: Buffer;
  metrics: Record<string, number>;
  link: { queued: number; dropped: number; superseded: number; sendErrors: number };
}

/** One atftp fetch of `file` across a veth paced at `rate` by tbf, from a server with `timeoutMs`. */
async function pacedFetch(file: Buffer, rate: string, timeoutMs: number, atftpOptions: string[]): Promise<Run> {
  cleanup();
  const dir = tempStateDir('nrt-tftpq-');
  chmodSync(dir, 0o755);
  const root = join(dir, 'root');
  mkdirSync(root, { mode: 0o755 });
  writeFileSync(join(root, 'big.bin'), file, { mode: 0o644 });
  try {
    for (const ns of Object.values(NS)) ip('netns', 'add', ns);
    ip('-n', NS.server, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', NS.client);
    ip('-n', NS.server, 'addr', 'add', '10.89.0.1/24', 'dev', 'veth0');
    ip('-n', NS.client, 'addr', 'add', '10.89.0.2/24', 'dev', 'veth1');
    for (const [ns, dev] of [
      [NS.server, 'veth0'],
      [NS.client, 'veth1'],
      [NS.server, 'lo'],
      [NS.client, 'lo'],
    ] as const)
      ip('-n', ns, 'link', 'set', dev, 'up');
    ip('netns', 'exec', NS.server, 'tc', 'qdisc', 'add', 'dev', 'veth0', 'root', 'tbf', 'rate', rate, 'burst', '64kb', 'latency', '2s');
    const server = spawn(
      'ip',
      ['netns', 'exec', NS.server, process.execPath, '--import', 'tsx', 'test/fixtures/tftp/netns-server.ts', root, '10.89.0.1', String(timeoutMs)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(
        () => {
          if (server.exitCode !== null) throw new Error(`server exited ${server.exitCode}: ${out}`);
          return out.includes('ready');
        },
        { what: () => `the netns TFTP server to say ready: ${out}`, timeoutMs: 30_000, intervalMs: 20 },
      );
      const dest = join(dir, 'got.bin');
      const opts = atftpOptions.flatMap((o) => ['--option', o]);
      execFileSync('ip', ['netns', 'exec', NS.client, 'atftp', '-g', '-r', 'big.bin', '-l', dest, ...opts, '10.89.0.1', '69'], {
        timeout: 90_000,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const body = readFileSync(dest);
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      const report = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as Omit<Run, 'body'>;
      return { body, ...report };
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('windowsize 64 × blksize 65464 through a paced link: sends queued on EAGAIN, every byte arrives', { skip, timeout: 120_000 }, async () => {
  const file = randomBytes(12 * 1024 * 1024 + 333);
  const r = await pacedFetch(file, '200mbit', 3000, ['blksize 65464', 'windowsize 64']);
  assert.equal(sha(r.body), sha(file));
  assert.equal(r.metrics.completed, 1);
  assert.ok(r.link.queued > 0, `the send queue was used (queued ${r.link.queued})`);
  assert.equal(r.link.dropped, 0, 'nothing dropped by the queue bound');
  // A loaded machine can make atftp drop part of a window and ACK a partial one (RFC 7440 go-back):
  // then the re-send replaces what is still queued. Without a re-send nothing is replaced.
  if (r.link.superseded > 0) assert.ok((r.metrics.retransmits ?? 0) > 0, `queued copies replaced (${r.link.superseded}) only by a re-send`);
});

test('a window slower on the wire than the timeout: the re-send replaces the queued copies instead of adding to them', { skip, timeout: 120_000 }, async () => {
  const file = randomBytes(6 * 1024 * 1024 + 77);
  const r = await pacedFetch(file, '40mbit', 300, ['blksize 65464', 'windowsize 64']);
  assert.equal(sha(r.body), sha(file));
  assert.ok((r.metrics.timeouts ?? 0) > 0, 'timed out while the window was still on its way');
  assert.ok(r.link.superseded > 0, `stale queued datagrams dropped (superseded ${r.link.superseded})`);
});
