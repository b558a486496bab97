// `netroot serve` as a real process: it starts the HTTP and TFTP servers and names both ports on its
// start line, answers GET /install/kickstart/<host> with the kickstart the CLI shows and a TFTP
// request with an answer, and stops cleanly (exit 0) on SIGTERM. Only loopback, ports chosen by
// the kernel; the iSCSI target is switched off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { get } from 'node:http';
import { createSocket } from 'node:dgram';
import { cli, tempStateDir } from '../helpers/cli.js';

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

test('netroot serve: HTTP kickstart for a host, clean stop on SIGTERM', async () => {
  const dir = tempStateDir('nrt-serve-');
  const flags = [
    '--set',
    'http.host=127.0.0.1',
    '--set',
    'http.port=0',
    '--set',
    'tftp.host=127.0.0.1',
    '--set',
    'tftp.port=0',
    '--set',
    'iscsi.enabled=false',
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let out = '';
    const [port, tftpPort] = await new Promise<[number, number]>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        out += c;
        const m = /http on 127\.0\.0\.1:(\d+), tftp on 127\.0\.0\.1:(\d+) \(native link\)\n/.exec(out);
        if (m && out.includes('netroot: off')) resolve([Number(m[1]), Number(m[2])]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
    });
    // The start says what does not run, and why (issue #15: a first run stalled with no word).
    assert.match(out, /netroot: off — dhcp: dhcp\.interfaces is empty \(name the provisioning interface/);
    assert.match(out, /iscsi: iscsi\.enabled is false/);
    // insert-ethers against this frontend warns that no DHCP server feeds it, then waits as asked.
    const ie = await cli(dir, '--set', `http.port=${port}`, 'insert-ethers', '--count', '1', '--timeout', '1');
    assert.match(ie.err, /insert-ethers: warning: the frontend runs no DHCP server \(dhcp\.interfaces is empty\)/, ie.err);
    assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254')).code, 0);
    const r = await fetchText(port, '/install/kickstart/compute-0-0');
    assert.equal(r.status, 200, r.body);
    const preview = await cli(dir, ...flags, 'kickstart', 'compute-0-0');
    assert.equal(r.body, preview.out, 'the daemon serves what `netroot kickstart` shows (loopback gets the preview)');
    const missing = await fetchText(port, '/install/kickstart/compute-9-9');
    assert.equal(missing.status, 404);
    // TFTP answers on the port it announced: a file that is not there → ERROR 1 (RFC 1350).
    const udp = createSocket('udp4');
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no TFTP answer in 5 s')), 5000);
        udp.on('message', (m) => {
          clearTimeout(t);
          resolve(m);
        });
        udp.send(Buffer.from('\0\x01no-such-file\0octet\0', 'latin1'), tftpPort, '127.0.0.1');
      });
      assert.equal(reply.readUInt16BE(0), 5, 'ERROR');
      assert.equal(reply.readUInt16BE(2), 1, 'file not found');
    } finally {
      udp.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true });
  }
});

test('netroot serve: the start report checks the external services of enabled cluster roles (slurmctld, the home export)', async () => {
  const dir = tempStateDir('nrt-serve-ext-');
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const closed = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const flags = ['--set', 'http.host=127.0.0.1', '--set', 'http.port=0', '--set', 'tftp.enabled=false', '--set', 'iscsi.enabled=false'];
  const cluster = ['--set', 'slurm.enabled=true', '--set', 'nfs.enabled=true', '--set', 'nfs.server=127.0.0.1', '--set', `nfs.port=${closed}`];
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, ...cluster, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /^netroot: external — .*$/m.exec(out);
        if (m) resolve(m[0]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before its start report: ${stderr}`)));
    });
    assert.match(line, /slurmctld: no \S+\/slurm\/slurm\.conf yet \(written when the first slurm_client host is added\)/);
    assert.match(line, new RegExp(`nfs-home: 127\\.0\\.0\\.1:${closed} connection refused \\(nodes mount /export/home when it answers\\)`));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true });
  }
});
