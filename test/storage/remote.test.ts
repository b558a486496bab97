// The storage service and its client, both on 127.0.0.1: a LIO backend on a stand-in configfs
// directory serves; RemoteBackend calls it. Raw HTTP checks the edges the client never sends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createStorageServiceHandler } from '../../src/storage/storage-service.js';
import { RemoteBackend } from '../../src/storage/remote.js';
import { LioBackend } from '../../src/storage/lio.js';
import { pickStorageNode } from '../../src/storage/allocation.js';
import type { StorageBackend } from '../../src/storage/backend.js';
import type { ExportSpec } from '../../src/storage/spec.js';
import { createLogger } from '../../src/log/logger.js';
import { freePort, nodeSpec, tempDir } from './helpers.js';

const MiB = 1 << 20;
const TOKEN = 'storage-token-0123456789abcdefghijklmnop';
const spec: ExportSpec = nodeSpec(0);

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function raw(
  port: number,
  method: string,
  path: string,
  o: { token?: string | null; body?: string | Buffer; type?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (o.token !== null) headers['authorization'] = `Bearer ${o.token ?? TOKEN}`;
    if (o.body !== undefined) {
      headers['content-type'] = o.type ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(o.body);
    }
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('storage service + RemoteBackend on 127.0.0.1', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: Server;
  let port: number;
  let remote: RemoteBackend;
  let backend: LioBackend;
  const logged: string[] = [];

  before(async () => {
    tmp = tempDir();
    mkdirSync(join(tmp.dir, 'configfs'));
    backend = new LioBackend({ volumesDir: join(tmp.dir, 'volumes'), configfsRoot: join(tmp.dir, 'configfs'), portal: '10.1.1.2', limitBytes: 256 * MiB });
    ({ server, port } = await listen(
      createStorageServiceHandler({ backend, token: TOKEN, maxBodyBytes: 64 * 1024, logger: createLogger({ level: 'debug', write: (l) => logged.push(l) }) }),
    ));
    remote = new RemoteBackend({ url: `http://127.0.0.1:${port}`, token: TOKEN, kind: 'lio' });
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    tmp?.cleanup();
  });

  test('the whole lifecycle through the client', async () => {
    assert.equal(await remote.remoteKind(), 'lio');
    assert.deepEqual(await remote.capacity(), { totalBytes: 256 * MiB, freeBytes: 256 * MiB });
    const v = await remote.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB });
    assert.equal(v.sizeBytes, 64 * MiB);
    assert.deepEqual(await remote.createVolume({ name: 'compute-0-0', sizeBytes: 64 * MiB }), v);
    await assert.rejects(remote.createVolume({ name: 'compute-0-0', sizeBytes: 32 * MiB }), { code: 'E_STORAGE_EXISTS' });
    await assert.rejects(remote.resizeVolume('compute-0-0', 32 * MiB), { code: 'E_STORAGE_SHRINK' });
    assert.equal((await remote.resizeVolume('compute-0-0', 96 * MiB)).sizeBytes, 96 * MiB);
    await assert.rejects(remote.createVolume({ name: 'big', sizeBytes: 200 * MiB }), { code: 'E_STORAGE_FULL' });
    const info = await remote.exportVolume(spec);
    assert.deepEqual(info, { ...spec, portal: '10.1.1.2', port: 3260 });
    assert.deepEqual(await remote.listExports(), [info]);
    await assert.rejects(remote.deleteVolume('compute-0-0'), { code: 'E_STORAGE_IN_USE' });
    assert.deepEqual(await remote.reconcile([spec]), { added: [], removed: [], updated: [] });
    assert.deepEqual(await remote.reconcile([]), { added: [], removed: [spec.targetIqn], updated: [] });
    await remote.unexport(spec.targetIqn);
    assert.deepEqual(
      (await remote.listVolumes()).map((x) => x.name),
      ['compute-0-0'],
    );
    await remote.deleteVolume('compute-0-0');
    await remote.deleteVolume('compute-0-0');
    assert.deepEqual(await remote.listVolumes(), []);
  });

  test('bad names and path traversal are refused by the client and by the server', async () => {
    await assert.rejects(remote.createVolume({ name: '../x', sizeBytes: MiB }), { code: 'E_STORAGE_BAD_NAME' });
    for (const p of ['/v1/volumes/..%2F..%2Fescape', '/v1/volumes/%2Fetc%2Fpasswd', '/v1/volumes/..']) {
      const r = await raw(port, 'PUT', p, { body: JSON.stringify({ sizeBytes: MiB }) });
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
      if (r.status === 400) assert.equal(JSON.parse(r.body).code, 'E_STORAGE_BAD_NAME');
    }
    assert.equal(existsSync(join(tmp.dir, 'escape.img')), false);
    const un = await raw(port, 'DELETE', '/v1/exports/..%2Fcore');
    assert.deepEqual([un.status, JSON.parse(un.body).code], [400, 'E_STORAGE_BAD_IQN']);
    const shrinkBody = await raw(port, 'PUT', '/v1/volumes/ok', { body: JSON.stringify({ sizeBytes: -1 }) });
    assert.equal(shrinkBody.status, 400);
    assert.equal(JSON.parse(shrinkBody.body).code, 'E_STORAGE_BAD_SIZE');
  });

  test('a wrong or missing token is 401 and leaks nothing', async () => {
    const bad = new RemoteBackend({ url: `http://127.0.0.1:${port}`, token: 'wrong-token-wrong-token-wrong-token!', kind: 'lio' });
    await assert.rejects(
      bad.capacity(),
      (e: Error & { code?: string }) => e.code === 'E_STORAGE_AUTH' && !e.message.includes(TOKEN) && !e.message.includes('wrong-token'),
    );
    for (const token of [null, 'x', TOKEN.slice(0, -1), TOKEN + 'x']) {
      const r = await raw(port, 'GET', '/v1/volumes', { token });
      assert.equal(r.status, 401);
      assert.deepEqual(JSON.parse(r.body), { code: 'E_STORAGE_AUTH', message: 'a valid storage token is required (Authorization: Bearer …)' });
      assert.equal(r.headers['www-authenticate'], 'Bearer');
    }
    const r = await raw(port, 'PUT', '/v1/exports', { token: 'nope', body: JSON.stringify(spec) });
    assert.equal(r.status, 401);
    assert.ok(!r.body.includes(spec.chap.secret));
  });

  test('bodies: size limit, JSON only, validated; unknown routes and methods', async () => {
    const big = JSON.stringify({ desired: Array.from({ length: 400 }, () => spec) });
    assert.equal((await raw(port, 'POST', '/v1/reconcile', { body: big })).status, 413);
    const badJson = await raw(port, 'PUT', '/v1/exports', { body: '{"volume":' });
    assert.deepEqual([badJson.status, JSON.parse(badJson.body).code], [400, 'E_STORAGE_BAD_JSON']);
    const text = await raw(port, 'PUT', '/v1/exports', { body: JSON.stringify(spec), type: 'text/plain' });
    assert.deepEqual([text.status, JSON.parse(text.body).code], [415, 'E_STORAGE_MEDIA_TYPE']);
    const extra = await raw(port, 'PUT', '/v1/exports', { body: JSON.stringify({ ...spec, evil: true }) });
    assert.deepEqual([extra.status, JSON.parse(extra.body).code], [400, 'E_STORAGE_BAD_SPEC']);
    const wrongType = await raw(port, 'PUT', '/v1/volumes/x', { body: JSON.stringify({ sizeBytes: '1' }) });
    assert.deepEqual([wrongType.status, JSON.parse(wrongType.body).code], [400, 'E_STORAGE_BAD_SPEC']);
    assert.equal((await raw(port, 'GET', '/v1/nothing')).status, 404);
    assert.equal((await raw(port, 'GET', '/')).status, 404);
    assert.equal((await raw(port, 'PATCH', '/v1/volumes')).status, 405);
  });

  test('error messages never carry the CHAP secret', async () => {
    await remote.createVolume({ name: 'compute-0-0', sizeBytes: MiB });
    // LIO refuses sourceAddress; the answer names the problem, not the secret.
    const r = await raw(port, 'PUT', '/v1/exports', { body: JSON.stringify({ ...spec, sourceAddress: '10.1.1.9' }) });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).code, 'E_STORAGE_UNSUPPORTED');
    assert.ok(!r.body.includes(spec.chap.secret));
    const short = await raw(port, 'PUT', '/v1/exports', { body: JSON.stringify({ ...spec, chap: { user: 'u', secret: 'sh0rt' } }) });
    assert.equal(JSON.parse(short.body).code, 'E_STORAGE_BAD_SECRET');
    assert.ok(!short.body.includes('sh0rt'));
    await remote.deleteVolume('compute-0-0');
  });
});

test('a backend crash is a 500 "internal error": its message (with a secret) goes to the log only', async () => {
  const lines: string[] = [];
  const crashing = {
    kind: 'embedded',
    exportVolume: async (e: ExportSpec) => {
      throw new Error(`boom while using ${e.chap.secret}`);
    },
  } as unknown as StorageBackend;
  const { server, port } = await listen(
    createStorageServiceHandler({ backend: crashing, token: TOKEN, logger: createLogger({ write: (l) => lines.push(l) }) }),
  );
  try {
    const r = await raw(port, 'PUT', '/v1/exports', { body: JSON.stringify(spec) });
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.body), { code: 'E_STORAGE_INTERNAL', message: 'internal error' });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /storage request crashed/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('the service refuses a short token', () => {
  assert.throws(() => createStorageServiceHandler({ backend: {} as StorageBackend, token: 'short' }), { code: 'E_STORAGE_TOKEN' });
});

test('a node on a closed port, or one that never answers, is E_STORAGE_DOWN; allocation skips it', async () => {
  const closed = await freePort();
  const downNode = new RemoteBackend({ url: `http://127.0.0.1:${closed}`, token: TOKEN, kind: 'tgt' });
  await assert.rejects(downNode.capacity(), (e: Error & { code?: string }) => e.code === 'E_STORAGE_DOWN' && /ECONNREFUSED/.test(e.message));
  const silent = await listen(() => {
    /* never answers */
  });
  const hung = new RemoteBackend({ url: `http://127.0.0.1:${silent.port}`, token: TOKEN, kind: 'tgt', timeoutMs: 200 });
  try {
    await assert.rejects(hung.capacity(), (e: Error & { code?: string }) => e.code === 'E_STORAGE_DOWN' && /timed out/.test(e.message));
    const tmp = tempDir();
    mkdirSync(join(tmp.dir, 'cfs'));
    const up = new LioBackend({ volumesDir: join(tmp.dir, 'v'), configfsRoot: join(tmp.dir, 'cfs'), portal: '10.1.1.3', limitBytes: 10 * MiB });
    const live = await listen(createStorageServiceHandler({ backend: up, token: TOKEN }));
    try {
      const nodes = [
        { name: 'a-down', backend: downNode },
        { name: 'b-hung', backend: hung },
        { name: 'c-up', backend: new RemoteBackend({ url: `http://127.0.0.1:${live.port}`, token: TOKEN, kind: 'lio' }) },
      ];
      const p = await pickStorageNode(nodes, MiB);
      assert.equal(p.node.name, 'c-up');
      await assert.rejects(pickStorageNode(nodes.slice(0, 2), MiB), { code: 'E_STORAGE_DOWN' });
      await assert.rejects(pickStorageNode(nodes, 11 * MiB), { code: 'E_STORAGE_FULL' });
    } finally {
      await new Promise((r) => live.server.close(r));
      tmp.cleanup();
    }
  } finally {
    silent.server.closeAllConnections();
    await new Promise((r) => silent.server.close(r));
  }
});
