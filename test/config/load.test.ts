import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, envName } from '../../src/config/index.js';
import { MultiError } from '../../src/errors.js';
import { configSchema } from '../../src/config/schema.js';

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

// Every numeric setting's bounds and default: the contract of the config file (a change here is a
// change of contract, and docs/LIMITS.md may need it too). Each bound is accepted, one step past it refused, integers refuse
// a fraction. Found missing by mutation testing (docs/mutation.md).
// [setting, min, max (undefined: none), integer, default, min itself excluded (> min)]
const NUMERIC_SETTINGS: Array<[string, number, number | undefined, boolean, number, boolean?]> = [
  ['events.maxRows', 100, 100000000, true, 100000],
  ['http.port', 0, 65535, true, 8080],
  ['http.maxInFlight', 1, 100000, true, 256],
  ['http.retryAfterSeconds', 1, 3600, true, 2],
  ['http.maxInFlightPerSource', 1, 100000, true, 32],
  ['http.maxFileStreams', 1, 100000, true, 128],
  ['http.maxFileStreamsPerSource', 1, 100000, true, 4],
  ['http.maxReceivingBodies', 1, 100000, true, 64],
  ['http.headersTimeoutSeconds', 0, 3600, false, 10, true],
  ['http.requestTimeoutSeconds', 0, 3600, false, 30, true],
  ['http.sendStallSeconds', 0, 3600, false, 60, true],
  ['http.rpcMaxBodyBytes', 1024, 16777216, true, 65536],
  ['http.rpcMaxMarkup', 64, 1000000, true, 1024],
  ['http.rpcMaxPendingParses', 1, 10000, true, 16],
  ['http.rpcMaxPendingParsesPerSource', 1, 10000, true, 2],
  ['http.apiMaxPageSize', 1, 100000, true, 1000],
  ['http.apiMaxEventStreams', 1, 10000, true, 32],
  ['http.apiMaxEventStreamsPerSource', 1, 10000, true, 4],
  ['http.apiEventPollSeconds', 0.01, 60, false, 1],
  ['http.apiEventHeartbeatSeconds', 0.01, 3600, false, 15],
  ['tftp.port', 0, 65535, true, 69],
  ['tftp.maxTransfers', 1, 65536, true, 1024],
  ['tftp.maxTransfersPerClient', 1, 65536, true, 16],
  ['tftp.maxWindowBytes', 512, 67108864, true, 262144],
  ['tftp.maxBufferedBytes', 65536, Number.MAX_SAFE_INTEGER, true, 67108864],
  ['tftp.maxTimeoutSeconds', 0, 255, true, 5],
  ['dhcp.port', 0, 65535, true, 67],
  ['dhcp.leaseSeconds', 60, Number.MAX_SAFE_INTEGER, true, 86400],
  ['dhcp.poolLeaseSeconds', 60, Number.MAX_SAFE_INTEGER, true, 600],
  ['dhcp.raMaxPerSourcePerMinute', 1, 600, true, 10],
  ['dhcp.raMaxPerSecond', 1, 100000, true, 100],
  ['iscsi.port', 0, 65535, true, 3260],
  ['iscsi.pingIdleSeconds', 0, 3600, true, 30],
  ['iscsi.pingTimeoutSeconds', 5, 3600, true, 60],
  ['iscsi.maxSessions', 1, 65535, true, 1024],
  ['iscsi.loginTimeoutSeconds', 1, 300, true, 15],
  ['iscsi.loginIdleSeconds', 1, 300, true, 5],
  ['iscsi.maxLoginConnections', 1, 65535, true, 256],
  ['iscsi.maxLoginConnectionsPerSource', 1, 1024, true, 8],
  ['iscsi.maxDiscoverySessions', 0, 4096, true, 64],
  ['iscsi.maxDiscoverySessionsPerSource', 1, 64, true, 4],
  ['iscsi.discoveryIdleSeconds', 1, 3600, true, 10],
  ['iscsi.discoveryMaxSeconds', 1, 3600, true, 60],
  ['storage.tgtControlPort', 0, 65535, true, 0],
  ['storage.defaultVolumeGiB', 0, undefined, false, 16, true],
  ['storage.localLimitGiB', 0, undefined, false, 0],
];

test('every numeric setting: min and max accepted, one step beyond refused, integers only where integer, the default', () => {
  const at = (path: string, value: unknown) => {
    const keys = path.split('.');
    const root: Record<string, unknown> = {};
    let o = root;
    for (const k of keys.slice(0, -1)) o = (o[k] = {}) as Record<string, unknown>;
    o[keys.at(-1)!] = value;
    return root;
  };
  const ok = (path: string, value: unknown) => configSchema.safeParse(at(path, value)).success;
  const defaults = configSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;
  for (const [path, min, max, int, def, exclusive] of NUMERIC_SETTINGS) {
    const step = int ? 1 : min === 0 ? 0.001 : min / 2;
    if (exclusive) {
      assert.equal(ok(path, min), false, `${path} = ${min} (must be more)`);
      assert.equal(ok(path, min + 0.001), true, `${path} = ${min + 0.001}`);
    } else {
      assert.equal(ok(path, min), true, `${path} = ${min}`);
      assert.equal(ok(path, min - step), false, `${path} = ${min - step}`);
    }
    if (max !== undefined) {
      assert.equal(ok(path, max), true, `${path} = ${max}`);
      assert.equal(ok(path, max + (int ? 1 : 0.001)), false, `${path} = ${max} + 1`);
    }
    if (int) assert.equal(ok(path, min + 0.5), false, `${path} = ${min + 0.5}`);
    assert.equal(ok(path, String(def)), false, `${path} as a string`);
    const [section, key] = path.split('.') as [string, string];
    assert.equal(defaults[section]?.[key], def, `${path} default`);
  }
});
