// `netroot serve` as a real process: it starts the HTTP server, answers GET /install/kickstart/<host>
// with the kickstart the CLI shows, and stops cleanly (exit 0) on SIGTERM. Only loopback; TFTP and
// the iSCSI target are switched off so the test needs no fixed port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { get } from 'node:http';
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
  const flags = ['--set', 'http.host=127.0.0.1', '--set', 'http.port=0', '--set', 'tftp.enabled=false', '--set', 'iscsi.enabled=false'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /http on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
    });
    assert.equal((await cli(dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:aa:00:01', '--ip', '10.1.255.254')).code, 0);
    const r = await fetchText(port, '/install/kickstart/compute-0-0');
    assert.equal(r.status, 200, r.body);
    const preview = await cli(dir, ...flags, 'kickstart', 'compute-0-0');
    assert.equal(r.body, preview.out, 'the daemon serves what `netroot kickstart` shows (loopback gets the preview)');
    const missing = await fetchText(port, '/install/kickstart/compute-9-9');
    assert.equal(missing.status, 404);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true });
  }
});
