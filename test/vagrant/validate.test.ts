import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const haveVagrant = spawnSync('vagrant', ['--version']).status === 0;

test('vagrant validate accepts vagrant/Vagrantfile', {
  skip: !haveVagrant && process.env.CI !== 'true' ? 'vagrant not installed (apt-get install vagrant vagrant-libvirt)' : false,
  timeout: 180_000,
}, () => {
  const r = spawnSync('vagrant', ['validate'], { cwd: 'vagrant', encoding: 'utf8', env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Vagrantfile validated successfully/);
});

test('vagrant/provision-frontend.sh: bash -n passes; it installs packaging/netroot.service and every netroot command it runs exists', () => {
  const script = 'vagrant/provision-frontend.sh';
  const n = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
  assert.equal(n.status, 0, n.stderr);
  const text = readFileSync(script, 'utf8');
  assert.match(text, /install -m 0644 \/opt\/netroot\/packaging\/netroot\.service \/etc\/systemd\/system\/netroot\.service/);
  // The boot images nodes need (without them they loop on "boot failed"), and the image for compute-diskless.
  for (const step of [
    /^netroot initrd build-base /m,
    /^netroot initrd build-installer /m,
    /netroot image build debian-12/,
    /^netroot attr set os_image debian-12 --appliance compute-diskless$/m,
    /installArgs: "netroot\.mode=install/,
  ])
    assert.match(text, step);
  const commands = new Set([...text.matchAll(/^(?:\S+ \|\| )?netroot ([a-z-]+)(?: ([a-z-]+))?/gm)].map((m) => [m[1], m[2]].filter(Boolean).join(' ')));
  assert.ok(commands.size >= 5, [...commands].join(', '));
  for (const c of commands) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/netroot.ts', ...c.split(' '), '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `netroot ${c} --help: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /unknown command/i, c);
  }
});
