// /boot/files answers a client's mistakes as the client's: 400 for a path that is not valid
// percent-encoding (RFC 3986 §2.1; decodeURIComponent refuses it), 416 with `Content-Range:
// bytes */<size>` for a Range no byte of the file satisfies (RFC 9110 §14.1.2, §15.5.17). Neither
// is a server failure: no 500, nothing logged at ERROR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFrontend } from '../../src/app/frontend.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { tempStateDir } from '../helpers/tmp.js';

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/boot/files: bad percent-encoding is 400, an unsatisfiable Range 416 with Content-Range; none is logged at ERROR', { timeout: 20000 }, async () => {
  const dir = tempStateDir('nrt-bootfiles-');
  const config = loadConfig({
    env: {},
    overrides: { stateDir: dir, 'http.host': '127.0.0.1', 'http.port': '0', 'tftp.enabled': 'false', 'iscsi.host': '127.0.0.1', 'iscsi.port': '0' },
  });
  mkdirSync(join(config.tftp.root, 'install'), { recursive: true });
  writeFileSync(join(config.tftp.root, 'install', 'vmlinuz'), Buffer.alloc(10_000, 7));
  const logs: string[] = [];
  const f = createFrontend(config, { logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }) });
  await f.start();
  try {
    const port = f.httpPort();
    for (const path of ['/boot/files/%ff%fe', '/boot/files/install/%E0%A4%A', '/boot/files/install/vmlinuz%']) {
      const r = await get(port, path);
      assert.equal(r.status, 400, `${path}: ${r.body}`);
      assert.equal(JSON.parse(r.body).code, 'E_BAD_PATH', path);
    }
    for (const range of ['bytes=-0', 'bytes=5-2', 'bytes=10000-', 'bytes=20000-30000']) {
      const r = await get(port, '/boot/files/install/vmlinuz', { Range: range });
      assert.equal(r.status, 416, `${range}: ${r.body}`);
      assert.equal(r.headers['content-range'], 'bytes */10000', range);
    }
    // Still served: a satisfiable range, a malformed one (ignored: RFC 9110 §14.2 lets a server
    // ignore Range), the whole file.
    assert.equal((await get(port, '/boot/files/install/vmlinuz', { Range: 'bytes=9999-' })).status, 206);
    assert.equal((await get(port, '/boot/files/install/vmlinuz', { Range: 'pages=1-2' })).status, 200);
    assert.equal((await get(port, '/boot/files/install/vmlinuz')).status, 200);
    assert.deepEqual(
      logs.filter((l) => / ERROR /.test(l)),
      [],
      'nothing at ERROR',
    );
  } finally {
    await f.stop();
    rmSync(dir, { recursive: true });
  }
});
