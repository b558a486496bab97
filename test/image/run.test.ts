import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, ToolError } from '../../src/image/run.js';
import { NetrootError } from '../../src/errors.js';

test('progress gets every line, labelled; stdout is returned when captured', async () => {
  const lines: string[] = [];
  assert.equal(await run('sh', ['-c', 'echo one; echo two >&2; printf "three\\r\\n\\nfour"'], { progress: (l) => lines.push(l), label: 'tool' }), '');
  assert.deepEqual(lines.sort(), ['tool: four', 'tool: one', 'tool: three', 'tool: two']);
  const quiet: string[] = [];
  assert.equal(await run('sh', ['-c', 'echo captured; echo said >&2'], { capture: true, progress: (l) => quiet.push(l) }), 'captured\n');
  assert.deepEqual(quiet, ['said']);
});

test("a failing command's error quotes its last lines (and keeps more for callers), exit 1 unless the operator's", async () => {
  const lines: string[] = [];
  const script = 'for i in $(seq 1 30); do echo line$i; done; echo "E: the reason" >&2; exit 3';
  await assert.rejects(run('sh', ['-c', script], { label: 'apt', code: 'E_IMAGE_PACKAGES', progress: (l) => lines.push(l) }), (e: unknown) => {
    assert.ok(e instanceof ToolError);
    assert.equal(e.code, 'E_IMAGE_PACKAGES');
    assert.equal(e.user, false);
    assert.match(e.message, /^apt failed \(exit status 3\):\n/);
    assert.match(e.message, /\n {2}line17\n/);
    assert.doesNotMatch(e.message, /line16\n/);
    assert.match(e.message, /\n {2}E: the reason$/);
    assert.equal(e.lines.length, 31);
    assert.equal(e.lines.at(-1), 'E: the reason');
    return true;
  });
  assert.equal(lines.length, 31);
  await assert.rejects(run('sh', ['-c', 'echo bad input >&2; exit 1'], { userError: true }), (e: unknown) => e instanceof NetrootError && e.user === true);
  await assert.rejects(run('sh', ['-c', 'kill -TERM $$']), /sh failed \(killed by SIGTERM\)/);
});

test("a full disk is a failure (exit 1) even for a tool whose failures are the operator's", async () => {
  await assert.rejects(
    run('sh', ['-c', 'echo "tar: ./usr/bin/x: Cannot write: No space left on device" >&2; exit 2'], { label: 'tar', userError: true }),
    (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.equal(e.user, false);
      assert.match(e.message, /^tar failed \(exit status 2: the disk is full\)/);
      return true;
    },
  );
});

test('scrub replaces internal paths in progress and in the error', async () => {
  const lines: string[] = [];
  await assert.rejects(
    run('sh', ['-c', 'echo /srv/images/.staging-x-1-ab/root/etc/fstab; echo open /srv/images/.staging-x-1-ab/tmp failed; exit 1'], {
      progress: (l) => lines.push(l),
      scrub: [
        ['/srv/images/.staging-x-1-ab/root', '<image root>'],
        ['/srv/images/.staging-x-1-ab', '<staging>'],
      ],
    }),
    (e: unknown) =>
      e instanceof ToolError && !e.message.includes('.staging-') && /<image root>\/etc\/fstab/.test(e.message) && /open <staging>\/tmp failed/.test(e.message),
  );
  assert.deepEqual(lines, ['<image root>/etc/fstab', 'open <staging>/tmp failed']);
});

test('a missing program and an aborted run are reported by code', async () => {
  await assert.rejects(
    run('/nonexistent/tool', []),
    (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_TOOL' && /cannot run \/nonexistent\/tool: .*ENOENT/.test(e.message),
  );
  const ac = new AbortController();
  const t0 = Date.now();
  const p = run('sleep', ['30'], { signal: ac.signal, label: 'sleep' });
  // timed input, not a wait: the interrupt arrives while the command runs.
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(p, (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_INTERRUPTED' && /sleep: interrupted/.test(e.message));
  assert.ok(Date.now() - t0 < 5000, 'the program was killed, not waited for');
  await assert.rejects(run('true', [], { signal: ac.signal }), (e: unknown) => e instanceof NetrootError && e.code === 'E_IMAGE_INTERRUPTED');
});
