// iSCSI names in a login (RFC 7143 §4.2.7, InitiatorName §13.5, TargetName §13.4): at most 223
// bytes, an iqn./eui./naa. form. A name that is not one is refused with 0x0200 "initiator error"
// (§11.13.5) before anything stores or logs it — an 8,000-character name used to be accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { iscsiNameProblem } from '../../src/validate/iscsi-name.js';
import { LoginStatus } from '../../src/iscsi/login.js';
import { TestInitiator } from './helpers/initiator.js';
import { INITIATOR, IQN, inProcessTarget } from './helpers/in-process.js';

test('iscsiNameProblem: the forms real initiators and targets use pass', () => {
  for (const ok of [
    INITIATOR,
    IQN,
    'iqn.2026-12.i:a',
    'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test', // libiscsi
    'iqn.1994-05.com.redhat:5a6b7c8d9e0f', // open-iscsi / dracut
    'iqn.2010-04.org.ipxe:00000000-0000-0000-0000-000000000000', // iPXE
    'iqn.1991-05.com.microsoft:WIN-NODE01', // Windows keeps the host name's case
    'iqn.2005-03.org.open-iscsi',
    'eui.02004567A425678D', // the RFC's own example, upper-case hex
    'naa.52004567BA64678D',
    'naa.62004567BA64678D0123456789ABCDEF',
    'iqn.2026-12.example:' + 'x'.repeat(223 - 'iqn.2026-12.example:'.length),
  ]) {
    assert.equal(iscsiNameProblem(ok), undefined, ok);
  }
});

test('iscsiNameProblem: too long, wrong form, bad characters are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['iqn.2026-12.example:' + 'x'.repeat(224 - 'iqn.2026-12.example:'.length), /223 bytes/],
    ['iqn.2026-12.example:' + 'é'.repeat(102), /223 bytes/], // 224 bytes in 122 characters
    ['iqn.2026-12.example:' + 'a'.repeat(8000), /223 bytes/],
    ['iqn.2026-12.example:node 1', /characters/],
    ['iqn.2026-12.example:node\u0000', /characters/],
    ['iqn.2026-12.example:a/b', /characters/],
    ['node1', /type designator/],
    ['iqn.2026.example:x', /iqn\.yyyy-mm/],
    ['iqn.2026-12.:x', /iqn\.yyyy-mm/],
    ['iqn.2026-12', /iqn\.yyyy-mm/],
    ['eui.0200', /16 hex/],
    ['naa.52004567BA64678D00', /16 or 32 hex/],
  ];
  for (const [name, why] of cases) assert.match(iscsiNameProblem(name) ?? 'accepted', why, JSON.stringify(name.slice(0, 40)));
});

let t: Awaited<ReturnType<typeof inProcessTarget>>;
before(async () => {
  t = await inProcessTarget({ def: { chap: undefined } });
});
after(async () => {
  await t?.done();
});

async function login(o: { initiator: string; target?: string }): Promise<{ status: number; closed: boolean }> {
  const i = await TestInitiator.connect(t.port);
  try {
    const r = await i.login(o);
    return { status: (r.statusClass << 8) | r.statusDetail, closed: r.statusClass === 0 ? false : await i.waitClosed(2000) };
  } finally {
    i.close();
  }
}

test('(e) an 8,000-character InitiatorName is refused with 0x0200 and the connection ends', async () => {
  const f0 = t.target.metrics.loginFailures;
  const name = 'iqn.2026-12.example.attacker:' + 'a'.repeat(8000 - 'iqn.2026-12.example.attacker:'.length);
  assert.equal(name.length, 8000);
  const r = await login({ initiator: name }); // a discovery login: the one that needs no credentials
  assert.equal(r.status, LoginStatus.InitiatorError, `status 0x${r.status.toString(16)}`);
  assert.equal(r.closed, true);
  assert.equal(t.target.metrics.loginFailures, f0 + 1);
  assert.equal(t.target.metrics.discoverySessions, 0);
});

test('names at the edge: 223 bytes logs in, 224 bytes and a bad TargetName are refused with 0x0200', async () => {
  const prefix = 'iqn.2026-12.example.client:';
  assert.equal((await login({ initiator: prefix + 'x'.repeat(223 - prefix.length) })).status, LoginStatus.Success);
  assert.equal((await login({ initiator: prefix + 'x'.repeat(224 - prefix.length) })).status, LoginStatus.InitiatorError);
  assert.equal((await login({ initiator: 'not-an-iscsi-name' })).status, LoginStatus.InitiatorError);
  assert.equal((await login({ initiator: INITIATOR, target: 'iqn.2026-12.x:' + 'y'.repeat(300) })).status, LoginStatus.InitiatorError);
  assert.equal(
    (await login({ initiator: INITIATOR, target: 'iqn.2026-12.local.netroot:absent' })).status,
    LoginStatus.NotFound,
    'well-formed but not ours: 0x0203',
  );
  assert.equal((await login({ initiator: INITIATOR, target: IQN })).status, LoginStatus.Success);
});
