import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createNsPair } from './lib/tftp-netns.js';
const SIZE = 32 * 1024 * 1024;
const dir = mkdtempSync('/tmp/exp/d-'); chmodSync(dir, 0o755);
const root = join(dir, 'root'); mkdirSync(root, { mode: 0o755 });
writeFileSync(join(root, 'big.bin'), randomBytes(SIZE), { mode: 0o644 });
const ns = createNsPair('dbg');
const ip1 = ns.serverIps[1]!;
const srv = ns.spawnIn(ns.server, 'dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--enable-tftp', `--tftp-root=${root}`, `--listen-address=${ip1}`, '--bind-interfaces', '--tftp-max=1000', '--pid-file=', '--user=root', '--log-facility=/tmp/exp/dnsmasq.log']);
await new Promise((r) => setTimeout(r, 1000));
const cpu = () => { const st = readFileSync(`/proc/${srv.pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const fds = () => readdirSync(`/proc/${srv.pid}/fd`).length;
for (let round = 0; round < Number(process.argv[2] ?? 3); round++) {
  const c = ns.spawnIn(ns.client, '/tmp/exp/tlc2', [ip1, 'big.bin', '1432', '100', join(root, 'big.bin')]);
  let o = ''; c.stdout!.on('data', (d) => (o += d));
  await new Promise((r) => c.once('exit', r));
  const c0 = cpu(); await new Promise((r) => setTimeout(r, 3000));
  console.log('round', round, o.trim(), 'fds', fds(), 'idle cpu over 3 s', (cpu() - c0).toFixed(2));
}
const t0 = performance.now();
const res = await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<number | null>((res) => {
  const c = ns.spawnIn(ns.client, 'curl', ['-sS', '--max-time', '30', '--tftp-blksize', '1432', '-o', `/dev/shm/dbg-${i}.bin`, `tftp://${ip1}/big.bin`]);
  c.once('exit', (code) => res(code));
})));
console.log('curl codes', JSON.stringify(res.reduce((m: Record<string, number>, c) => ((m[String(c)] = (m[String(c)] ?? 0) + 1), m), {})), 'ms', performance.now() - t0, 'fds', fds());
ns.remove();
