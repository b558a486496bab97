// src/error-codes.ts: one table of codes, each with its meaning, HTTP status and exit code; the
// HTTP answers and CLI exit codes come from it, and docs/errors.md is generated from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../src/error-codes.js';
import { REGENERATE, renderErrorsDoc } from '../src/error-codes-doc.js';
import { exitCodeOf, httpStatusOf, NetrootError, UserError } from '../src/errors.js';
import { errorHandler } from '../src/http/errors.js';
import { silentLogger } from '../src/log/logger.js';

const sources = (dir: string, out: string[] = []): string[] => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
};
const codeFiles = [...sources('src'), ...sources('bench')].filter((f) => f !== join('src', 'error-codes.ts') && f !== join('src', 'error-codes-doc.ts'));
const literals = new Set(codeFiles.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'([EW]_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));

test('docs/errors.md is generated from the table and up to date', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  assert.ok(doc === renderErrorsDoc(), `docs/errors.md is out of date: run ${REGENERATE}`);
  assert.match(doc, /^# netroot error codes\n/);
  assert.match(doc, /\| 2 \| the operator's error/);
  assert.match(doc, /\| `E_HOST_NOT_FOUND` \| 2 \| 404 \| unknown host \|/);
});

test('every code written in src/ and bench/ is in the table, and every entry is used', () => {
  const missing = [...literals].filter((c) => !isErrorCode(c));
  assert.deepEqual(missing, []);
  const unused = Object.keys(ERROR_CODES).filter((c) => !literals.has(c));
  assert.deepEqual(unused, []);
});

test('each entry has an area, a one-line meaning, an HTTP error status and exit 1 or 2', () => {
  for (const [code, e] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[EW]_[A-Z0-9_]+$/);
    assert.match(e.area, /^[a-z]+$/, code);
    assert.ok(e.meaning.length > 3 && !e.meaning.includes('\n'), `${code}: meaning`);
    assert.ok(e.status >= 400 && e.status <= 599, `${code}: status ${e.status}`);
    assert.ok(e.exit === 1 || e.exit === 2, `${code}: exit ${e.exit}`);
    if (e.exit === 2) assert.ok(e.status < 500 || code === 'E_STORAGE_FULL', `${code}: the operator's error with a 5xx status`);
  }
  assert.equal(isErrorCode('E_NO_SUCH_CODE'), false);
  assert.equal(isErrorCode('toString'), false);
  assert.equal(isErrorCode(17), false);
});

test('statuses and exit codes that were in the two old maps are kept', () => {
  const want: Partial<Record<ErrorCode, number>> = {
    E_HOST_NOT_FOUND: 404,
    E_FORBIDDEN: 403,
    E_UNAUTHORIZED: 401,
    E_MAC_KNOWN: 409,
    E_PLUGIN_FAILED: 422,
    E_BODY_TOO_LARGE: 413,
    E_UNSUPPORTED_ENCODING: 415,
    E_RANGE_NOT_SATISFIABLE: 416,
    E_MISDIRECTED: 421,
    E_IMAGE_NOT_FOUND: 409,
    E_STORAGE_AUTH: 401,
    E_STORAGE_METHOD: 405,
    E_STORAGE_FULL: 507,
    E_STORAGE_DOWN: 503,
  };
  for (const [code, status] of Object.entries(want)) assert.equal(ERROR_CODES[code as ErrorCode].status, status, code);
});

test('an error takes its kind from the table unless its site says otherwise', () => {
  const op = new NetrootError('E_HOST_NOT_FOUND', 'unknown host "x"');
  assert.equal(op.user, true);
  assert.equal(httpStatusOf(op), 404);
  assert.equal(exitCodeOf(op), 2);
  const fail = new NetrootError('E_STORAGE_DOWN', 'node down');
  assert.equal(fail.user, false);
  assert.equal(httpStatusOf(fail), 503);
  assert.equal(exitCodeOf(fail), 1);
  // A failure code raised as the operator's (a missing tool): 400 and exit 2, not the failure's 500.
  const missingTool = new NetrootError('E_LAB_TGT', 'tgtd missing', { user: true });
  assert.equal(httpStatusOf(missingTool), 400);
  assert.equal(exitCodeOf(missingTool), 2);
  assert.equal(exitCodeOf(new UserError('E_API', 'x')), 2);
  // An operator code raised as a failure (a storage node's 4xx code behind a 5xx): 500 and exit 1.
  const remote = new NetrootError('E_STORAGE_BAD_SPEC', 'x', { user: false });
  assert.equal(httpStatusOf(remote), 500);
  assert.equal(exitCodeOf(remote), 1);
  assert.equal(exitCodeOf(new Error('crash')), 1);
});

test("the HTTP error handler answers with the table's status, and 500 without detail for failures", async () => {
  const app = express();
  app.get('/user/:code', (req) => {
    throw new UserError(req.params['code'] as ErrorCode, 'refused here');
  });
  app.get('/failure', () => {
    throw new NetrootError('E_STORAGE_DOWN', 'chap_secret=hunter2 node down');
  });
  app.use(errorHandler(silentLogger));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [code, status] of [
      ['E_HOST_NOT_FOUND', 404],
      ['E_MISDIRECTED', 421],
      ['E_STORAGE_FULL', 507],
      ['E_BAD_MAC', 400],
      ['E_STORAGE_SHRINK', 409],
    ] as const) {
      const r = await fetch(`${base}/user/${code}`);
      assert.equal(r.status, status, code);
      assert.deepEqual(await r.json(), { code, message: 'refused here' });
    }
    const f = await fetch(`${base}/failure`);
    assert.equal(f.status, 500);
    assert.deepEqual(await f.json(), { code: 'E_INTERNAL', message: 'internal error' });
  } finally {
    await new Promise((r) => server.close(r));
  }
});
