import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const haveVagrant = spawnSync('vagrant', ['--version']).status === 0;

test('vagrant validate accepts vagrant/Vagrantfile', { skip: !haveVagrant && process.env.CI !== 'true' ? 'vagrant not installed (apt-get install vagrant vagrant-libvirt)' : false, timeout: 180_000 }, () => {
  const r = spawnSync('vagrant', ['validate'], { cwd: 'vagrant', encoding: 'utf8', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Vagrantfile validated successfully/);
});
