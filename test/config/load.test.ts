import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, envName } from '../../src/config/index.js';
import { MultiError } from '../../src/errors.js';

test('defaults need no file and derive paths from the state dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-cfg-'));
  const c = loadConfig({ env: {}, overrides: { stateDir: dir } });
  assert.equal(c.stateDir, dir);
  assert.equal(c.storage.backend, 'embedded');
  assert.equal(c.storage.volumesDir, join(dir, 'volumes'));
  assert.equal(c.tftp.root, join(dir, 'tftpboot'));
  assert.match(c.profile.rolesDir, /roles$/);
  assert.ok(Object.isFrozen(c.http));
  rmSync(dir, { recursive: true });
});

test('file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-cfg-'));
  writeFileSync(join(dir, 'netroot.yaml'), 'http:\n  port: 81\n  maxInFlight: 5\ndhcp:\n  interfaces: [br0]\n');
  const c = loadConfig({
    env: { NETROOT_STATE_DIR: dir, NETROOT_HTTP_PORT: '82', NETROOT_DHCP_INTERFACES: 'eth1, eth2' },
    overrides: { 'http.maxInFlight': '7' },
  });
  assert.equal(c.http.port, 82);
  assert.equal(c.http.maxInFlight, 7);
  assert.deepEqual(c.dhcp.interfaces, ['eth1', 'eth2']);
  assert.equal(envName('http.maxInFlight'), 'NETROOT_HTTP_MAX_IN_FLIGHT');
  rmSync(dir, { recursive: true });
});

test('every problem is reported at once, each naming its field and source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'http:\n  port: 99999\n  colour: red\nnetwork:\n  frontendAddress: nope\nstorage:\n  backend: zfs\n');
  try {
    loadConfig({ file, env: { NETROOT_TFTP_ENABLED: 'maybe' }, overrides: { stateDir: dir, 'no.such': '1' } });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof MultiError);
    assert.equal(e.code, 'E_CONFIG_INVALID');
    const text = e.message;
    for (const needle of ['http.port', 'colour', 'network.frontendAddress', 'storage.backend', 'NETROOT_TFTP_ENABLED', '"no.such"']) {
      assert.ok(text.includes(needle), `missing ${needle} in:\n${text}`);
    }
    assert.ok(e.problems.length >= 6);
  }
  writeFileSync(file, 'http: [unclosed\n');
  assert.throws(
    () => loadConfig({ file, env: {}, overrides: { stateDir: dir } }),
    (e: unknown) => e instanceof MultiError && e.message.includes(file),
  );
  rmSync(dir, { recursive: true });
});

test('http.apiToken: printable ASCII without spaces (it travels in a Bearer header); the error never shows the token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-cfg-'));
  try {
    for (const bad of ['my secret token', 'tab\there', 'é-token', 'T'.repeat(513)]) {
      assert.throws(
        () => loadConfig({ env: {}, overrides: { stateDir: dir, 'http.apiToken': bad } }),
        (e: unknown) => e instanceof MultiError && e.message.includes('http.apiToken') && !e.message.includes(bad.slice(0, 12)),
        JSON.stringify(bad.slice(0, 20)),
      );
    }
    assert.equal(loadConfig({ env: {}, overrides: { stateDir: dir, 'http.apiToken': 'T'.repeat(512) } }).http.apiToken, 'T'.repeat(512));
    assert.equal(loadConfig({ env: {}, overrides: { stateDir: dir } }).http.apiToken, '');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

// Every numeric setting's bounds and default, and every other setting's edges: test/config/schema.test.ts.
