// The compiler with a rolls file (src/profile/rolls.ts): a long-lived compiler (the server's) sees
// a roll added or removed at its next load; roll node files and graph files merge with the roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tree, node, graph } from './helpers.js';
import { ProfileCompiler } from '../../src/profile/index.js';
import { readRolls } from '../../src/profile/rolls.js';

const attrs = { hostname: 'c-0-0', arch: 'x86_64', os: 'linux', release: '9', appliance: 'a' };

test('a roll recorded after the first render is used at the next one, and forgotten when removed', () => {
  const { dir } = tree({ 'roles/r/a.xml': node('<package>own</package>'), 'graphs/g/g.xml': graph('') });
  const rollsFile = join(dir, 'state', 'rolls.json');
  const c = new ProfileCompiler({ rolesDir: join(dir, 'roles'), graphsDir: join(dir, 'graphs'), graph: 'g', rollsFile });
  try {
    assert.doesNotMatch(c.render('a', attrs), /^rolled$/m);
    for (const [p, t] of Object.entries({
      'hpc/nodes/rolled.xml': node('<package>rolled</package>'),
      'hpc/graphs/g/hpc.xml': graph('<edge from="a" to="rolled"/>'),
    })) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), t);
    }
    mkdirSync(dirname(rollsFile), { recursive: true });
    writeFileSync(rollsFile, JSON.stringify([{ name: 'hpc', dir: join(dir, 'hpc') }]));
    assert.match(c.render('a', attrs), /^rolled$/m);
    writeFileSync(rollsFile, '[]');
    assert.doesNotMatch(c.render('a', attrs), /^rolled$/m);
    writeFileSync(rollsFile, '[{"name": "x", "dir": "relative"}]');
    assert.throws(
      () => c.render('a', attrs),
      (e: Error & { code?: string; where?: string }) => e.code === 'E_ROLLS_FILE' && e.where === rollsFile,
    );
    assert.deepEqual(readRolls(join(dir, 'none.json')), []);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
