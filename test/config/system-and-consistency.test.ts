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
  const p = problems(() => loadConfig({ env: { NETROOT_SYSTEM_CONFIG: '' }, overrides: { stateDir: tmpdir(), 'network.frontendAddress': '999.1.1.1', 'network.privateNetwork': '10.1.0.0/33' } }));
  assert.ok(p.some((m) => m.startsWith('network.frontendAddress:')), p.join('\n'));
  assert.ok(p.some((m) => m.startsWith('network.privateNetwork:')), p.join('\n'));
});

test('checks between settings: frontend and router inside the network; the pool whole, ordered, inside and not over the frontend', () => {
  const base = { env: { NETROOT_SYSTEM_CONFIG: '' } };
  const load = (o: Record<string, string>) => () => loadConfig({ ...base, overrides: { stateDir: tmpdir(), 'network.privateNetwork': '10.1.0.0/16', ...o } });
  let p = problems(load({ 'network.frontendAddress': '10.2.0.1', 'network.router': '192.168.0.1' }));
  assert.ok(p.some((m) => /network\.frontendAddress: 10\.2\.0\.1 is outside network\.privateNetwork 10\.1\.0\.0\/16/.test(m)), p.join('\n'));
  assert.ok(p.some((m) => /network\.router: 192\.168\.0\.1 is outside/.test(m)), p.join('\n'));
  p = problems(load({ 'dhcp.poolStart': '10.1.9.0' }));
  assert.ok(p.some((m) => /give both or neither/.test(m)), p.join('\n'));
  p = problems(load({ 'dhcp.poolStart': '10.1.9.200', 'dhcp.poolEnd': '10.1.9.100' }));
  assert.ok(p.some((m) => /poolStart 10\.1\.9\.200 is after dhcp\.poolEnd/.test(m)), p.join('\n'));
  p = problems(load({ 'dhcp.poolStart': '10.1.9.1', 'dhcp.poolEnd': '10.3.0.1' }));
  assert.ok(p.some((m) => /dhcp\.poolEnd: 10\.3\.0\.1 is outside/.test(m)), p.join('\n'));
  p = problems(load({ 'network.frontendAddress': '10.1.1.1', 'dhcp.poolStart': '10.1.1.0', 'dhcp.poolEnd': '10.1.1.9' }));
  assert.ok(p.some((m) => /holds network\.frontendAddress 10\.1\.1\.1/.test(m)), p.join('\n'));
  const ok = loadConfig({ ...base, overrides: { stateDir: tmpdir(), 'network.frontendAddress': '10.1.1.1', 'dhcp.poolStart': '10.1.200.1', 'dhcp.poolEnd': '10.1.200.250' } });
  assert.equal(ok.dhcp.poolEnd, '10.1.200.250');
});
