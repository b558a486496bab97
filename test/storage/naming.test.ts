import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertIqn, initiatorIqnFor, targetIqnFor } from '../../src/storage/iqn.js';
import { validateIqn } from '../../src/validate/iscsi-name.js';
import { generateChapSecret, generateNodeChap } from '../../src/storage/secrets.js';
import { exportAttributes, defaultLun } from '../../src/storage/backend.js';
import { CHAP_SECRET_MAX, validateChapSecret, validateExportSpec, type ExportSpec } from '../../src/storage/spec.js';
import { nodeSpec } from './helpers.js';

test('IQNs that RFC 3720 §3.2.6 allows', () => {
  for (const good of [
    'iqn.2026-11.local.netroot:compute-0-0',
    'iqn.2001-04.com.example',
    'iqn.2001-04.com.example:storage:diskarrays-sn-a8675309',
    'iqn.1994-05.com.redhat:5b8a6b7c9d',
    'eui.02004567A425678D',
    'naa.52004567BA64678D',
    'naa.62004567BA64678D0123456789ABCDEF',
    'iqn.2026-11.local.netroot:' + 'a'.repeat(223 - 'iqn.2026-11.local.netroot:'.length),
  ])
    assert.deepEqual(validateIqn(good), [], good);
});

test('IQNs that are refused, each with a reason', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['iqn.2026-11.local.netroot:' + 'a'.repeat(200), /longer than 223/],
    ['IQN.2026-11.local.netroot:x', /must start with/],
    ['iqn.2026-11.Local.Netroot:x', /lower case/],
    ['iqn.2026-11.local.netroot:x y', /only a-z/],
    ['iqn.2026-11.local.netroot:x_y', /only a-z/],
    ['iqn.2026-13.local.netroot:x', /month 13/],
    ['iqn.26-11.local.netroot:x', /iqn\.yyyy-mm/],
    ['iqn.2026-11:x', /iqn\.yyyy-mm/],
    ['iqn.2026-11.-bad.netroot:x', /reversed domain/],
    ['iqn.2026-11.local..netroot:x', /reversed domain/],
    ['iqn.2026-11.local.netroot:', /nothing follows/],
    ['eui.0200', /16 hex/],
    ['naa.12345', /16 or 32 hex/],
    ['iscsi.example', /must start with/],
  ];
  for (const [name, why] of bad) {
    const p = validateIqn(name);
    assert.ok(p.length > 0, `accepted ${name}`);
    assert.match(p.join('; '), why, name);
  }
  assert.throws(() => assertIqn('nope'), { code: 'E_STORAGE_BAD_IQN' });
});

test('target and initiator IQNs from configuration', () => {
  const n = { iqnDate: '2026-11', iqnDomain: 'netroot.local' };
  assert.equal(targetIqnFor(n, 'compute-0-0'), 'iqn.2026-11.local.netroot:compute-0-0');
  assert.equal(initiatorIqnFor(n, 'Compute-0-0'), 'iqn.2026-11.local.netroot:initiator.compute-0-0');
  assert.equal(targetIqnFor({ iqnDate: '2001-04', iqnDomain: 'cluster.example.com' }, 'c1'), 'iqn.2001-04.com.example.cluster:c1');
  assert.throws(() => targetIqnFor(n, 'bad_host'), { code: 'E_STORAGE_BAD_IQN' });
  assert.throws(() => targetIqnFor(n, '../x'), { code: 'E_STORAGE_BAD_IQN' });
  assert.throws(() => targetIqnFor({ ...n, iqnDate: '2026-00' }, 'c'), { code: 'E_STORAGE_BAD_IQN' });
  assert.throws(() => targetIqnFor({ ...n, iqnDomain: 'a..b' }, 'c'), { code: 'E_STORAGE_BAD_IQN' });
});

test('CHAP secrets: 16 alphanumerics by default, unbiased enough, always distinct', () => {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const s = generateChapSecret();
    assert.equal(s.length, CHAP_SECRET_MAX);
    assert.match(s, /^[A-Za-z0-9]{16}$/);
    seen.add(s);
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.equal(seen.size, 2000);
  assert.equal(counts.size, 62, 'every symbol of the alphabet appears');
  // 32000 symbols / 62 ≈ 516 each; a modulo-biased generator would skew the first 8 symbols by ~25 %.
  for (const [c, n] of counts) assert.ok(n > 380 && n < 660, `${c} appears ${n} times`);
  assert.equal(generateChapSecret(12).length, 12);
  assert.throws(() => generateChapSecret(11), { code: 'E_STORAGE_BAD_SECRET' });
  assert.throws(() => generateChapSecret(17), { code: 'E_STORAGE_BAD_SECRET' });
});

test('CHAP secret validation (length 12-16, alphanumerics) never echoes the secret', () => {
  assert.equal(validateChapSecret('abcdefABCDEF'), 'abcdefABCDEF');
  for (const bad of ['short', 'abcdefghijklmnopq', 'abcdef ghijklm', 'abcdef%ghijklm', 'abcdef@ghijklm']) {
    assert.throws(
      () => validateChapSecret(bad),
      (e: Error & { code?: string }) => e.code === 'E_STORAGE_BAD_SECRET' && !e.message.includes(bad),
    );
  }
  const c = generateNodeChap('compute-0-0', { mutual: true });
  assert.equal(c.user, 'compute-0-0');
  assert.equal(c.mutualUser, 'target-compute-0-0');
  assert.notEqual(c.secret, c.mutualSecret);
  assert.equal(generateNodeChap('c').mutualUser, undefined);
});

const spec: ExportSpec = nodeSpec(1);

test('validateExportSpec accepts a good spec and normalises it', () => {
  assert.deepEqual(validateExportSpec(spec), spec);
  assert.deepEqual(validateExportSpec({ ...spec, sourceAddress: '10.1.255.254' }).sourceAddress, '10.1.255.254');
});

test('validateExportSpec refuses bad input with stable codes and without the secret in messages', () => {
  const cases: Array<[Partial<ExportSpec> & Record<string, unknown>, string]> = [
    [{ volume: '../../etc/passwd' }, 'E_STORAGE_BAD_NAME'],
    [{ volume: 'a/b' }, 'E_STORAGE_BAD_NAME'],
    [{ volume: '..' }, 'E_STORAGE_BAD_NAME'],
    [{ targetIqn: 'iqn.bad' }, 'E_STORAGE_BAD_IQN'],
    [{ initiatorIqn: 'IQN.x' }, 'E_STORAGE_BAD_IQN'],
    [{ initiatorIqn: spec.targetIqn }, 'E_STORAGE_BAD_SPEC'],
    [{ sourceAddress: '300.1.1.1' }, 'E_STORAGE_BAD_SPEC'],
    [{ lun: -1 }, 'E_STORAGE_BAD_SPEC'],
    [{ lun: 1.5 }, 'E_STORAGE_BAD_SPEC'],
    [{ chap: { user: 'a b', secret: spec.chap.secret } }, 'E_STORAGE_BAD_SPEC'],
    [{ chap: { user: 'u', secret: 'tooShort' } }, 'E_STORAGE_BAD_SECRET'],
    [{ chap: { user: 'u', secret: spec.chap.secret, mutualUser: 'm' } }, 'E_STORAGE_BAD_SPEC'],
    [{ chap: { user: 'u', secret: spec.chap.secret, mutualUser: 'm', mutualSecret: spec.chap.secret } }, 'E_STORAGE_BAD_SPEC'],
    [{ extra: 1 }, 'E_STORAGE_BAD_SPEC'],
  ];
  for (const [over, code] of cases) {
    assert.throws(
      () => validateExportSpec({ ...spec, ...over } as ExportSpec),
      (e: Error & { code?: string }) => e.code === code && !e.message.includes('Abcdef123456Xyz0'),
      JSON.stringify(over),
    );
  }
});

test('exportAttributes gives the attributes src/boot reads; defaultLun follows tgt', () => {
  assert.deepEqual(exportAttributes({ ...spec, portal: '10.1.1.1', port: 3260 }), {
    iscsi_initiator: spec.initiatorIqn,
    iscsi_target: spec.targetIqn,
    iscsi_portal: '10.1.1.1',
    iscsi_port: '3260',
    iscsi_lun: '1',
    iscsi_user: 'compute-0-0',
    iscsi_secret: 'Abcdef123456Xyz0',
  });
  assert.equal(defaultLun('tgt'), 1);
  assert.equal(defaultLun('lio'), 0);
  assert.equal(defaultLun('embedded'), 0);
});
