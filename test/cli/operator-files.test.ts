// File-system errors at the CLI edge: a path the operator gave that is missing, a directory, or
// not readable is one line naming the flag, the path and the reason, exit 2 — never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { NetrootError } from '../../src/errors.js';
import { operatorFileError, operatorFileReason, readOperatorFile } from '../../src/operator-file.js';

/** Runs `fn` in a fresh state directory, removed afterwards. */
async function inStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempStateDir('nrt-opfile-');
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const oneLine = (err: string) => {
  assert.equal(err.split('\n').length, 2, `one line, got: ${err}`);
  assert.doesNotMatch(err, /\n\s+at /);
};

/** Runs netroot in `dir` and asserts exit 2 and exactly `err` on stderr (a string is one line). */
async function refused(dir: string, argv: string[], err: string | RegExp): Promise<void> {
  const r = await cli(dir, ...argv);
  assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
  if (typeof err === 'string') {
    assert.equal(r.err, err);
    oneLine(r.err);
  } else assert.match(r.err, err);
}

test('storage serve --token-file: a missing file and a directory are one line naming the flag and path, exit 2', () =>
  inStateDir(async (dir) => {
    const missing = join(dir, 'no-token');
    await refused(
      dir,
      ['storage', 'serve', '--portal', '127.0.0.1', '--token-file', missing],
      `netroot: --token-file: ${missing}: no such file or directory\n`,
    );
    await refused(dir, ['storage', 'serve', '--portal', '127.0.0.1', '--token-file', dir], `netroot: --token-file: ${dir}: is a directory, not a file\n`);
  }));

test('--config naming a missing file or a directory is one line, exit 2; a malformed one still lists its problem', () =>
  inStateDir(async (dir) => {
    const missing = join(dir, 'absent.yaml');
    await refused(dir, ['--config', missing, 'host', 'list'], `netroot: --config: ${missing}: no such file or directory\n`);
    await refused(dir, ['--config', dir, 'host', 'list'], `netroot: --config: ${dir}: is a directory, not a file\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- just\n- a list\n');
    await refused(dir, ['--config', bad, 'host', 'list'], /^netroot: invalid configuration:\n {2}- .*bad\.yaml: the top level must be a mapping\n$/);
  }));

test('image import of a path through a file, and roll add of one, name the path and the reason, exit 2', () =>
  inStateDir(async (dir) => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    await refused(
      dir,
      ['image', 'import', join(file, 'root'), '--name', 'site'],
      `netroot: source: ${join(file, 'root')}: a component of the path is not a directory\n`,
    );
    await refused(
      dir,
      ['roll', 'add', join(file, 'roll')],
      `netroot: roll directory ${JSON.stringify(join(file, 'roll'))} does not exist or is not a directory\n`,
    );
  }));

test('assets import --kernel naming a missing path or a directory is refused naming it, exit 2 (it was ignored)', () =>
  inStateDir(async (dir) => {
    const missing = join(dir, 'vmlinuz-none');
    await refused(dir, ['assets', 'import', '--kernel', missing], `netroot: --kernel: ${missing}: no such file or directory\n`);
    await refused(dir, ['assets', 'import', '--kernel', dir], `netroot: --kernel: ${dir}: not a regular file\n`);
  }));

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
  assert.throws(
    () => readOperatorFile('/nonexistent-netroot-path/x', '--token-file'),
    (e: unknown) =>
      e instanceof NetrootError && e.code === 'E_FILE_UNREADABLE' && e.message === '--token-file: /nonexistent-netroot-path/x: no such file or directory',
  );
});
