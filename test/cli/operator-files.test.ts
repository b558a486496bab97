// File-system errors at the CLI edge: a path the operator gave that is missing, a directory, or
// not readable is one line naming the flag, the path and the reason, exit 2 — never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { NetrootError } from '../../src/errors.js';
import { operatorFileError, operatorFileReason, readOperatorFile } from '../../src/operator-file.js';

const oneLine = (err: string) => {
  assert.equal(err.split('\n').length, 2, `one line, got: ${err}`);
  assert.doesNotMatch(err, /\n\s+at /);
};

test('storage serve --token-file: a missing file and a directory are one line naming the flag and path, exit 2', async () => {
  const dir = tempStateDir('nrt-opfile-');
  try {
    const missing = join(dir, 'no-token');
    const r = await cli(dir, 'storage', 'serve', '--portal', '127.0.0.1', '--token-file', missing);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `netroot: --token-file: ${missing}: no such file or directory\n`);
    const r2 = await cli(dir, 'storage', 'serve', '--portal', '127.0.0.1', '--token-file', dir);
    assert.equal(r2.code, 2, r2.err);
    assert.equal(r2.err, `netroot: --token-file: ${dir}: is a directory, not a file\n`);
    oneLine(r2.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--config naming a missing file or a directory is one line, exit 2; a malformed one still lists its problem', async () => {
  const dir = tempStateDir('nrt-opfile-');
  try {
    const missing = join(dir, 'absent.yaml');
    const r = await cli(dir, '--config', missing, 'host', 'list');
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `netroot: --config: ${missing}: no such file or directory\n`);
    const r2 = await cli(dir, '--config', dir, 'host', 'list');
    assert.equal(r2.code, 2, r2.err);
    assert.equal(r2.err, `netroot: --config: ${dir}: is a directory, not a file\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- just\n- a list\n');
    const r3 = await cli(dir, '--config', bad, 'host', 'list');
    assert.equal(r3.code, 2, r3.err);
    assert.match(r3.err, /^netroot: invalid configuration:\n {2}- .*bad\.yaml: the top level must be a mapping\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image import of a path through a file, and roll add of one, name the path and the reason, exit 2', async () => {
  const dir = tempStateDir('nrt-opfile-');
  try {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    const r = await cli(dir, 'image', 'import', join(file, 'root'), '--name', 'site');
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `netroot: source: ${join(file, 'root')}: a component of the path is not a directory\n`);
    mkdirSync(join(dir, 'rolls'));
    const r2 = await cli(dir, 'roll', 'add', join(file, 'roll'));
    assert.equal(r2.code, 2, r2.err);
    oneLine(r2.err);
    assert.match(r2.err, /^netroot: roll directory ".*\/plain\/roll" does not exist or is not a directory\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only the reasons an operator can fix are wrapped; any other error passes through unchanged', () => {
  assert.equal(operatorFileReason({ code: 'EACCES' }), 'permission denied');
  assert.equal(operatorFileReason({ code: 'EIO' }), undefined);
  assert.equal(operatorFileReason(null), undefined);
  assert.equal(operatorFileReason({ code: 'toString' }), undefined);
  const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
  assert.equal(operatorFileError(eio, '/x', '--key'), eio);
  const wrapped = operatorFileError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), '/root/key', '--key');
  assert.ok(wrapped instanceof NetrootError);
  assert.equal(wrapped.code, 'E_FILE_UNREADABLE');
  assert.equal(wrapped.where, '--key');
  assert.equal(wrapped.user, true);
  assert.equal(wrapped.message, '--key: /root/key: permission denied');
  assert.throws(() => readOperatorFile('/nonexistent-netroot-path/x', '--token-file'), (e: unknown) => e instanceof NetrootError && e.code === 'E_FILE_UNREADABLE' && e.message === '--token-file: /nonexistent-netroot-path/x: no such file or directory');
});
