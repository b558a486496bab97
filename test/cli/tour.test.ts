// The README's "short tour" works on a fresh state directory: every `netroot` line of its sh block
// is run in order through the real CLI (in process; the README's `netroot()` wrapper only adds
// --state-dir), each must exit 0, and the outputs say what the comments promise. The one
// interactive line (insert-ethers: a live screen until q) runs in its batch form, --mac.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { cli, tempStateDir } from '../helpers/cli.js';

function tourLines(): string[][] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split('## A short tour')[1];
  assert.ok(section, 'README.md has a "## A short tour" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the tour has an sh block');
  const commands: string[][] = [];
  for (const raw of block.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('netroot()')) continue;
    for (const part of line.split('&&')) {
      const words = part.trim().split(/\s+/);
      assert.equal(words[0], 'netroot', `tour line is a netroot command: ${raw}`);
      assert.ok(!/["'$`|;<>]/.test(part), `tour line needs no shell beyond &&: ${raw}`);
      commands.push(words.slice(1));
    }
  }
  return commands;
}

test('README tour: every command works on a fresh state directory', async () => {
  const dir = tempStateDir('nrt-tour-');
  try {
    const commands = tourLines();
    assert.ok(commands.length >= 10, `the tour has its commands (${commands.length})`);
    const outputs = new Map<string, string>();
    for (const argv of commands) {
      const run = argv[0] === 'insert-ethers' ? [...argv, '--mac', '52:54:00:aa:00:02'] : argv;
      const r = await cli(dir, ...run);
      assert.equal(r.code, 0, `netroot ${run.join(' ')} → exit ${r.code}: ${r.err}`);
      outputs.set(argv.slice(0, 2).join(' '), r.out);
    }
    assert.match(outputs.get('appliance list')!, /^compute\s[\s\S]*^compute-diskless\s/m);
    assert.match(outputs.get('attr list')!, /^Kickstart_Timezone\s+Asia\/Tokyo\s+A$/m);
    assert.match(outputs.get('attr list')!, /^hostname\s+compute-0-0\s+I$/m);
    assert.match(outputs.get('kickstart compute-0-0')!, /^# netroot kickstart for compute-0-0 /);
    assert.match(outputs.get('kickstart compute-0-0')!, /^timezone Asia\/Tokyo --utc$/m);
    assert.match(outputs.get('graph check')!, /graph ok/);
    assert.match(outputs.get('graph draw')!, /^digraph netroot \{/);
    assert.match(outputs.get('report hosts')!, /^10\.1\.255\.254\tcompute-0-0\.local compute-0-0$/m);
    assert.match(outputs.get('events --last')!, /^\S+ {2}host\.added {2}compute-0-\d+ {2}52:54:00:aa:00:0\d /m);
    const hosts = JSON.parse(outputs.get('host list')!) as Array<{ name: string; bootAction: string; appliance: string }>;
    assert.deepEqual(
      hosts.map((h) => [h.name, h.appliance, h.bootAction]),
      [['compute-0-0', 'compute', 'install']],
    );
    const after = JSON.parse((await cli(dir, 'host', 'list', '--json')).out) as Array<{ name: string; appliance: string }>;
    assert.ok(
      after.some((h) => h.appliance === 'compute-diskless'),
      'insert-ethers added a compute-diskless host',
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});
