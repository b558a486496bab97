// BMC entry validation: every malformed field is E_BMC_BAD naming it, never showing the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskedBmc, validBmcEntry, type BmcInput } from '../../src/power/bmc-entry.js';
import { isNetrootError } from '../../src/errors.js';

const good: BmcInput = { driver: 'ipmi', address: '10.2.0.1', user: 'admin', secret: 'Pa55word' };

test('bmc entry: valid IPMI and Redfish entries, defaults filled, masked copy', () => {
  assert.deepEqual(validBmcEntry('compute-0-0', good), {
    host: 'compute-0-0',
    driver: 'ipmi',
    address: '10.2.0.1',
    port: null,
    user: 'admin',
    secret: 'Pa55word',
    insecureTls: false,
    systemId: null,
  });
  const rf = validBmcEntry('compute-0-1', {
    driver: 'redfish',
    address: 'bmc-0-1.mgmt.example',
    port: 8443,
    user: 'root',
    secret: 'x'.repeat(256),
    insecureTls: true,
    systemId: 'System.Embedded.1',
  });
  assert.equal(rf.insecureTls, true);
  assert.equal(maskedBmc(rf).secret, '********');
  assert.equal(rf.secret.length, 256, 'the original is untouched');
});

test('bmc entry: malformed fields are E_BMC_BAD naming the field, never the secret', () => {
  const secret = 'S3cr3t!';
  const cases: Array<[Partial<BmcInput>, string]> = [
    [{ driver: 'telnet' }, 'driver'],
    [{ address: '' }, 'address'],
    [{ address: '10.2.0' }, 'address'],
    [{ address: '256.1.1.1' }, 'address'],
    [{ address: '-oProxyCommand=x' }, 'address'],
    [{ address: 'a b' }, 'address'],
    [{ address: `${'a'.repeat(64)}.example` }, 'address'],
    [{ address: 'x'.repeat(10_000) }, 'address'],
    [{ port: 0 }, 'port'],
    [{ port: 65536 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ user: '' }, 'user'],
    [{ user: 'a\nb' }, 'user'],
    [{ user: 'u'.repeat(17) }, 'user'],
    [{ secret: '' }, 'secret'],
    [{ secret: `${secret}\u0000` }, 'secret'],
    [{ secret: `${secret}é` }, 'secret'],
    [{ secret: `${secret}${'x'.repeat(14)}` }, 'secret'],
    [{ systemId: 'a/../b' }, 'systemId'],
    [{ insecureTls: true }, 'insecureTls'],
  ];
  for (const [patch, where] of cases) {
    assert.throws(
      () => validBmcEntry('compute-0-0', { ...good, ...patch }),
      (e) => isNetrootError(e) && e.code === 'E_BMC_BAD' && e.where === where && !e.message.includes(secret),
      JSON.stringify(patch).slice(0, 80),
    );
  }
  // a long secret is fine for Redfish, not beyond 256
  assert.throws(
    () => validBmcEntry('h', { ...good, driver: 'redfish', secret: 'x'.repeat(257) }),
    (e) => isNetrootError(e) && e.where === 'secret',
  );
});
