// The system-wide file and the checks between settings (issue #15): /etc/netroot/netroot.yaml is
// read first, then <stateDir>/netroot.yaml (found through the system file's stateDir too), a later
// file winning per setting; out-of-range addresses and addresses outside their network are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { MultiError } from '../../src/errors.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MultiError, String(e));
    return e.problems.map((x) => x.message);
  }
  assert.fail('the configuration was accepted');
}

test('the system file is read first; the state directory it names holds the file that wins per setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nrt-cfg-'));
  try {
    const state = join(dir, 'state');
    mkdirSync(state);
    const system = join(dir, 'system.yaml');
    writeFileSync(system, `stateDir: ${state}\nhttp:\n  port: 81\n  maxInFlight: 9\n`);
    writeFileSync(join(state, 'netroot.yaml'), 'http:\n  port: 82\n');
    const c = loadConfig({ env: { NETROOT_SYSTEM_CONFIG: system } });
    assert.equal(c.stateDir, state, "the system file's stateDir");
    assert.equal(c.http.port, 82, 'the state directory file wins');
    assert.equal(c.http.maxInFlight, 9, 'a setting only the system file has is kept');
    const flagged = loadConfig({ env: { NETROOT_SYSTEM_CONFIG: system }, overrides: { stateDir: dir } });
    assert.equal(flagged.http.port, 81, 'another state directory (no file there): the system file alone');
    assert.equal(loadConfig({ env: { NETROOT_SYSTEM_CONFIG: '' }, overrides: { stateDir: dir } }).http.port, 8080, "'' reads no system file");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('addresses: out-of-range octets and bad networks are refused', () => {
  const p = problems(() =>
    loadConfig({
      env: { NETROOT_SYSTEM_CONFIG: '' },
      overrides: { stateDir: tmpdir(), 'network.frontendAddress': '999.1.1.1', 'network.privateNetwork': '10.1.0.0/33' },
    }),
  );
  assert.ok(
    p.some((m) => m.startsWith('network.frontendAddress:')),
    p.join('\n'),
  );
  assert.ok(
    p.some((m) => m.startsWith('network.privateNetwork:')),
    p.join('\n'),
  );
});

test('checks between settings: frontend and router inside the network; the pool whole, ordered, inside and not over the frontend', () => {
  const base = { env: { NETROOT_SYSTEM_CONFIG: '' } };
  const load = (o: Record<string, string>) => () => loadConfig({ ...base, overrides: { stateDir: tmpdir(), 'network.privateNetwork': '10.1.0.0/16', ...o } });
  let p = problems(load({ 'network.frontendAddress': '10.2.0.1', 'network.router': '192.168.0.1' }));
  assert.ok(
    p.some((m) => /network\.frontendAddress: 10\.2\.0\.1 is outside network\.privateNetwork 10\.1\.0\.0\/16/.test(m)),
    p.join('\n'),
  );
  assert.ok(
    p.some((m) => /network\.router: 192\.168\.0\.1 is outside/.test(m)),
    p.join('\n'),
  );
  p = problems(load({ 'dhcp.poolStart': '10.1.9.0' }));
  assert.ok(
    p.some((m) => /give both or neither/.test(m)),
    p.join('\n'),
  );
  p = problems(load({ 'dhcp.poolStart': '10.1.9.200', 'dhcp.poolEnd': '10.1.9.100' }));
  assert.ok(
    p.some((m) => /poolStart 10\.1\.9\.200 is after dhcp\.poolEnd/.test(m)),
    p.join('\n'),
  );
  p = problems(load({ 'dhcp.poolStart': '10.1.9.1', 'dhcp.poolEnd': '10.3.0.1' }));
  assert.ok(
    p.some((m) => /dhcp\.poolEnd: 10\.3\.0\.1 is outside/.test(m)),
    p.join('\n'),
  );
  p = problems(load({ 'network.frontendAddress': '10.1.1.1', 'dhcp.poolStart': '10.1.1.0', 'dhcp.poolEnd': '10.1.1.9' }));
  assert.ok(
    p.some((m) => /holds network\.frontendAddress 10\.1\.1\.1/.test(m)),
    p.join('\n'),
  );
  const ok = loadConfig({
    ...base,
    overrides: { stateDir: tmpdir(), 'network.frontendAddress': '10.1.1.1', 'dhcp.poolStart': '10.1.200.1', 'dhcp.poolEnd': '10.1.200.250' },
  });
  assert.equal(ok.dhcp.poolEnd, '10.1.200.250');
});

test('cross-checks at their edges: one address either side of the network and of the pool, a one-address pool, every problem at once', () => {
  const base = { env: { NETROOT_SYSTEM_CONFIG: '' } };
  const opts = (o: Record<string, string>) => ({
    ...base,
    overrides: { stateDir: tmpdir(), 'network.privateNetwork': '10.1.0.0/16', 'network.frontendAddress': '10.1.1.1', ...o },
  });
  const accepted = (o: Record<string, string>) => assert.doesNotThrow(() => loadConfig(opts(o)), JSON.stringify(o));
  const only = (o: Record<string, string>, re: RegExp) => {
    const p = problems(() => loadConfig(opts(o)));
    assert.equal(p.length, 1, `${JSON.stringify(o)}:\n${p.join('\n')}`);
    assert.match(p[0]!, re);
  };
  // network edges: 10.1.0.1 and 10.1.255.254 are inside 10.1.0.0/16; 10.0.255.255 and 10.2.0.0 are not
  accepted({ 'network.frontendAddress': '10.1.0.1', 'network.router': '10.1.255.254' });
  only({ 'network.frontendAddress': '10.0.255.255' }, /^network\.frontendAddress: 10\.0\.255\.255 is outside network\.privateNetwork 10\.1\.0\.0\/16/);
  only({ 'network.router': '10.2.0.0' }, /^network\.router: 10\.2\.0\.0 is outside/);
  // a privateNetwork written with host bits is compared by its network part
  accepted({ 'network.privateNetwork': '10.1.2.3/16' });
  // pool edges
  accepted({ 'dhcp.poolStart': '10.1.9.9', 'dhcp.poolEnd': '10.1.9.9' });
  only({ 'dhcp.poolStart': '10.1.9.10', 'dhcp.poolEnd': '10.1.9.9' }, /^dhcp\.poolStart 10\.1\.9\.10 is after dhcp\.poolEnd 10\.1\.9\.9$/);
  accepted({ 'dhcp.poolStart': '10.1.0.1', 'dhcp.poolEnd': '10.1.1.0' }); // ends just below the frontend
  accepted({ 'dhcp.poolStart': '10.1.1.2', 'dhcp.poolEnd': '10.1.255.254' }); // starts just above it
  only({ 'dhcp.poolStart': '10.1.1.1', 'dhcp.poolEnd': '10.1.1.9' }, /holds network\.frontendAddress 10\.1\.1\.1/);
  only({ 'dhcp.poolStart': '10.1.0.1', 'dhcp.poolEnd': '10.1.1.1' }, /holds network\.frontendAddress 10\.1\.1\.1/);
  only({ 'dhcp.poolStart': '10.0.255.255', 'dhcp.poolEnd': '10.1.0.9' }, /^dhcp\.poolStart: 10\.0\.255\.255 is outside/);
  only({ 'dhcp.poolEnd': '10.1.0.9' }, /^dhcp\.poolStart\/dhcp\.poolEnd: give both or neither \(got only poolEnd\)$/);
  // everything wrong at once: every problem reported, none hiding another
  const p = problems(() =>
    loadConfig(opts({ 'network.frontendAddress': '10.3.0.1', 'network.router': '10.4.0.1', 'dhcp.poolStart': '10.2.0.9', 'dhcp.poolEnd': '10.2.0.1' })),
  );
  assert.deepEqual(
    p.map((m) => m.split(/[: ]/)[0]).sort(),
    ['dhcp.poolEnd', 'dhcp.poolStart', 'dhcp.poolStart', 'network.frontendAddress', 'network.router'],
    p.join('\n'),
  );
  // a /32 network holds exactly one address
  accepted({ 'network.privateNetwork': '10.1.1.1/32' });
  only(
    { 'network.privateNetwork': '10.1.1.1/32', 'network.router': '10.1.1.2' },
    /^network\.router: 10\.1\.1\.2 is outside network\.privateNetwork 10\.1\.1\.1\/32/,
  );
});
