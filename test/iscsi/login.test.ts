// Text keys, operational negotiation (RFC 7143 §13, the table REFERENCE.md §6 decides), CHAP
// (RFC 1994 MD5, one-way and mutual, with the reflection check) and the login state machine —
// without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ChapAuthenticator, chapResponse } from '../../src/iscsi/chap.js';
import { LoginNegotiation, LoginStatus, type LoginHost } from '../../src/iscsi/login.js';
import type { LoginRequestPdu } from '../../src/iscsi/pdu.js';
import {
  DEFAULT_LIMITS,
  defaultParams,
  encodeTextKeys,
  negotiate,
  parseBinary,
  parseNumber,
  parseTextKeys,
  type TextPairs,
} from '../../src/iscsi/text-keys.js';

test('parseTextKeys: NUL-separated pairs; errors name the offset; duplicates refused', () => {
  assert.deepEqual(parseTextKeys(Buffer.from('A=1\0B=x=y\0\0')), [
    ['A', '1'],
    ['B', 'x=y'],
  ]);
  assert.deepEqual(parseTextKeys(Buffer.from('A=1')), [['A', '1']], 'last NUL may be missing');
  assert.throws(() => parseTextKeys(Buffer.from('A=1\0novalue\0')), { code: 'E_ISCSI_TEXT', message: /4/ });
  assert.throws(() => parseTextKeys(Buffer.from('A=1\0A=2\0')), { code: 'E_ISCSI_TEXT', message: /twice/ });
  assert.throws(() => parseTextKeys(Buffer.from('bad key=1\0')), { code: 'E_ISCSI_TEXT' });
  assert.equal(
    encodeTextKeys([
      ['K', 'v'],
      ['L', ''],
    ]).toString(),
    'K=v\0L=\0',
  );
  assert.equal(parseNumber('0x10'), 16);
  assert.ok(Number.isNaN(parseNumber('12a')));
  assert.deepEqual(parseBinary('0x0a0b'), Buffer.from([10, 11]));
  assert.deepEqual(parseBinary('0bAQI='), Buffer.from([1, 2]));
  assert.equal(parseBinary('zz'), undefined);
});

test('negotiation table (REFERENCE.md §6): what the target answers to a typical Linux offer', () => {
  const params = defaultParams();
  const offer: TextPairs = [
    ['HeaderDigest', 'CRC32C,None'],
    ['DataDigest', 'None'],
    ['MaxRecvDataSegmentLength', '8192'],
    ['InitialR2T', 'No'],
    ['ImmediateData', 'Yes'],
    ['MaxBurstLength', '16776192'],
    ['FirstBurstLength', '262144'],
    ['MaxOutstandingR2T', '16'],
    ['MaxConnections', '4'],
    ['DefaultTime2Wait', '0'],
    ['DefaultTime2Retain', '60'],
    ['ErrorRecoveryLevel', '2'],
    ['DataPDUInOrder', 'Yes'],
    ['IFMarker', 'No'],
    ['X-com.example.vendor', 'whatever'],
  ];
  const reply = new Map(negotiate(offer, params, DEFAULT_LIMITS, 'Normal', { mrdsl: false }));
  assert.equal(reply.get('HeaderDigest'), 'CRC32C', 'first acceptable digest in the initiator order');
  assert.equal(reply.get('DataDigest'), 'None');
  assert.ok(Number(reply.get('MaxRecvDataSegmentLength')) >= 262144, 'declares MRDSL ≥ 262144');
  assert.equal(reply.get('InitialR2T'), 'No');
  assert.equal(reply.get('ImmediateData'), 'Yes');
  assert.ok(Number(reply.get('MaxBurstLength')) >= 1 << 20, 'MaxBurstLength ≥ 1 MiB');
  assert.equal(reply.get('FirstBurstLength'), '262144');
  assert.ok(Number(reply.get('MaxOutstandingR2T')) > 1, 'MaxOutstandingR2T > 1');
  assert.equal(reply.get('MaxConnections'), '1');
  assert.equal(reply.get('DefaultTime2Wait'), '2', 'max function');
  assert.equal(reply.get('DefaultTime2Retain'), '20', 'min function');
  assert.equal(reply.get('ErrorRecoveryLevel'), '0', 'min function');
  assert.equal(reply.get('X-com.example.vendor'), 'NotUnderstood');
  assert.equal(params.initiatorMaxRecvDataSegmentLength, 8192, 'Data-In honours the initiator MRDSL');
  assert.equal(params.headerDigest, true);
  // OR/AND functions: InitialR2T=Yes and ImmediateData=No from the initiator win.
  const p2 = defaultParams();
  const r2 = new Map(
    negotiate(
      [
        ['InitialR2T', 'Yes'],
        ['ImmediateData', 'No'],
        ['FirstBurstLength', '1048576'],
        ['MaxBurstLength', '65536'],
      ],
      p2,
      DEFAULT_LIMITS,
      'Normal',
      { mrdsl: true },
    ),
  );
  assert.equal(r2.get('InitialR2T'), 'Yes');
  assert.equal(r2.get('ImmediateData'), 'No');
  assert.equal(p2.firstBurstLength, 65536, 'FirstBurstLength never above MaxBurstLength');
  // Discovery sessions: normal-only keys are Irrelevant.
  assert.equal(new Map(negotiate([['InitialR2T', 'No']], defaultParams(), DEFAULT_LIMITS, 'Discovery', { mrdsl: false })).get('InitialR2T'), 'Irrelevant');
  assert.throws(() => negotiate([['MaxBurstLength', '12']], defaultParams(), DEFAULT_LIMITS, 'Normal', { mrdsl: false }), /MaxBurstLength/);
  assert.throws(() => negotiate([['ImmediateData', 'maybe']], defaultParams(), DEFAULT_LIMITS, 'Normal', { mrdsl: false }), /ImmediateData/);
});

const fixed =
  (b: number) =>
  (n: number): Buffer =>
    Buffer.alloc(n, b);

test('CHAP MD5 (RFC 1994 §4.1): response = MD5(id || secret || challenge); one-way right/wrong', () => {
  const ch = Buffer.alloc(16, 0x22);
  assert.deepEqual(
    chapResponse(0x11, 'secret', ch),
    createHash('md5')
      .update(Buffer.concat([Buffer.of(0x11), Buffer.from('secret'), ch]))
      .digest(),
  );
  const a = new ChapAuthenticator({ user: 'u', secret: 'Secret0123456789' }, fixed(0x11));
  assert.deepEqual(a.challengeKeys(), [
    ['CHAP_A', '5'],
    ['CHAP_I', '17'],
    ['CHAP_C', '0x' + '11'.repeat(16)],
  ]);
  const right = '0x' + chapResponse(17, 'Secret0123456789', Buffer.alloc(16, 0x11)).toString('hex');
  assert.deepEqual(
    a.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', right],
      ]),
    ),
    { ok: true, reply: [] },
  );
  const wrong = '0x' + chapResponse(17, 'Secret0123456780', Buffer.alloc(16, 0x11)).toString('hex');
  const bad = a.verify(
    new Map([
      ['CHAP_N', 'u'],
      ['CHAP_R', wrong],
    ]),
  );
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && !bad.reason.includes('Secret'), 'reason carries no secret');
  assert.equal(
    a.verify(
      new Map([
        ['CHAP_N', 'v'],
        ['CHAP_R', right],
      ]),
    ).ok,
    false,
    'wrong CHAP name',
  );
  assert.equal(a.verify(new Map([['CHAP_N', 'u']])).ok, false, 'missing CHAP_R');
  assert.equal(
    a.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', 'nothex'],
      ]),
    ).ok,
    false,
  );
});

test('CHAP mutual: the target answers the initiator challenge; reflection and equal secrets refused', () => {
  const creds = { user: 'u', secret: 'Secret0123456789', mutualUser: 't', mutualSecret: 'Mutual0123456789' };
  const a = new ChapAuthenticator(creds, fixed(0x11));
  const r = '0x' + chapResponse(17, creds.secret, Buffer.alloc(16, 0x11)).toString('hex');
  const ic = Buffer.alloc(16, 0x33);
  const ok = a.verify(
    new Map([
      ['CHAP_N', 'u'],
      ['CHAP_R', r],
      ['CHAP_I', '9'],
      ['CHAP_C', '0x' + ic.toString('hex')],
    ]),
  );
  assert.deepEqual(ok, {
    ok: true,
    reply: [
      ['CHAP_N', 't'],
      ['CHAP_R', '0x' + chapResponse(9, creds.mutualSecret, ic).toString('hex')],
    ],
  });
  // Mutual configured but the initiator does not ask: refused.
  assert.equal(
    a.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', r],
      ]),
    ).ok,
    false,
  );
  // Reflection: the initiator sends our own challenge back.
  assert.equal(
    a.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', r],
        ['CHAP_I', '9'],
        ['CHAP_C', '0x' + '11'.repeat(16)],
      ]),
    ).ok,
    false,
  );
  // Same secret both ways: refused (RFC 7143 §12.1.3).
  const same = new ChapAuthenticator({ ...creds, mutualSecret: creds.secret }, fixed(0x11));
  assert.equal(
    same.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', r],
        ['CHAP_I', '9'],
        ['CHAP_C', '0x' + ic.toString('hex')],
      ]),
    ).ok,
    false,
  );
  // Not configured for mutual but asked: refused.
  const oneWay = new ChapAuthenticator({ user: 'u', secret: creds.secret }, fixed(0x11));
  assert.equal(
    oneWay.verify(
      new Map([
        ['CHAP_N', 'u'],
        ['CHAP_R', r],
        ['CHAP_I', '9'],
        ['CHAP_C', '0x' + ic.toString('hex')],
      ]),
    ).ok,
    false,
  );
});

function loginPdu(o: Partial<LoginRequestPdu> & { keys: TextPairs }): LoginRequestPdu {
  return {
    kind: 'login',
    immediate: true,
    final: o.transit ?? true,
    transit: o.transit ?? true,
    cont: false,
    csg: o.csg ?? 1,
    nsg: o.nsg ?? 3,
    versionMax: 0,
    versionMin: 0,
    isid: Buffer.from('800000000001', 'hex'),
    tsih: 0,
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    itt: 1,
    data: encodeTextKeys(o.keys),
    bhs: Buffer.alloc(48),
  };
}
const host = (chap?: { user: string; secret: string }): LoginHost => ({
  findTarget: (iqn) => (iqn === 'iqn.2026-12.t:a' ? { iqn, chap, allows: (who) => who === 'iqn.2026-12.i:a' } : undefined),
  limits: DEFAULT_LIMITS,
  remoteAddress: '127.0.0.1',
  random: fixed(0x11),
});

test('login state machine: one-PDU login, refusals with the right status class/detail', () => {
  const ok = new LoginNegotiation(host()).step(
    loginPdu({
      keys: [
        ['InitiatorName', 'iqn.2026-12.i:a'],
        ['TargetName', 'iqn.2026-12.t:a'],
        ['MaxRecvDataSegmentLength', '8192'],
      ],
    }),
  );
  assert.equal(ok.status, LoginStatus.Success);
  assert.equal(ok.transit, true);
  assert.equal(ok.complete?.params.initiatorMaxRecvDataSegmentLength, 8192);
  assert.ok(ok.keys.some(([k, v]) => k === 'TargetPortalGroupTag' && v === '1'));
  const st = (keys: TextPairs, h = host()): number => new LoginNegotiation(h).step(loginPdu({ keys })).status;
  assert.equal(
    st([
      ['InitiatorName', 'iqn.2026-12.i:b'],
      ['TargetName', 'iqn.2026-12.t:a'],
    ]),
    LoginStatus.AuthorizationFailure,
  );
  assert.equal(
    st([
      ['InitiatorName', 'iqn.2026-12.i:a'],
      ['TargetName', 'iqn.2026-12.t:zz'],
    ]),
    LoginStatus.NotFound,
  );
  assert.equal(st([['TargetName', 'iqn.2026-12.t:a']]), LoginStatus.MissingParameter);
  assert.equal(
    st(
      [
        ['InitiatorName', 'iqn.2026-12.i:a'],
        ['TargetName', 'iqn.2026-12.t:a'],
      ],
      host({ user: 'u', secret: 'Secret0123456789' }),
    ),
    LoginStatus.AuthenticationFailure,
    'CHAP target, security stage skipped',
  );
});

test('login: a key repeated unchanged in a later PDU is accepted (libiscsi), a changed one refused', () => {
  const h = host({ user: 'u', secret: 'Secret0123456789' });
  const first = [
    ['InitiatorName', 'iqn.2026-12.i:a'],
    ['TargetName', 'iqn.2026-12.t:a'],
  ] as TextPairs;
  const run = (again: TextPairs): number => {
    const n = new LoginNegotiation(h);
    assert.equal(n.step(loginPdu({ csg: 0, nsg: 1, keys: [...first, ['AuthMethod', 'CHAP']] })).status, 0);
    assert.equal(n.step(loginPdu({ csg: 0, nsg: 1, transit: false, keys: [['CHAP_A', '5']] })).status, 0);
    const r = '0x' + chapResponse(17, 'Secret0123456789', Buffer.alloc(16, 0x11)).toString('hex');
    return n.step(loginPdu({ csg: 0, nsg: 1, keys: [...again, ['CHAP_N', 'u'], ['CHAP_R', r]] })).status;
  };
  assert.equal(run([['InitiatorName', 'iqn.2026-12.i:a']]), LoginStatus.Success);
  assert.equal(run([['InitiatorName', 'iqn.2026-12.i:other']]), LoginStatus.InitiatorError);
  assert.equal(run([['TargetName', 'iqn.2026-12.t:b']]), LoginStatus.InitiatorError);
});

// Edges found by mutation testing (docs/mutation.md): each reason ChapAuthenticator.verify gives, the
// CHAP_I and CHAP_C bounds of mutual CHAP, and the response over a string or a Buffer secret.
test('CHAP verify: every refusal reason, CHAP_I 0..255, CHAP_C 1..1024 bytes, mutual reply', () => {
  const fixed = (n: number) => Buffer.alloc(n, n === 1 ? 7 : 0x11);
  const creds = { user: 'node1', secret: 'initiator-secret-1', mutualUser: 'target1', mutualSecret: 'target-secret-12' };
  const auth = (c: typeof creds | { user: string; secret: string } = creds) => new ChapAuthenticator(c, fixed);
  const a = auth();
  assert.equal(a.id, 7);
  const good = `0x${chapResponse(7, creds.secret, fixed(16)).toString('hex')}`;
  assert.deepEqual(chapResponse(7, creds.secret, fixed(16)), chapResponse(7, Buffer.from(creds.secret, 'utf8'), fixed(16)), 'string secret is its UTF-8 bytes');
  const verify = (keys: Record<string, string>, c?: typeof creds | { user: string; secret: string }) => auth(c).verify(new Map(Object.entries(keys)));
  const reason = (keys: Record<string, string>, c?: typeof creds | { user: string; secret: string }) => {
    const r = verify(keys, c);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason({ CHAP_R: good }), 'CHAP_N/CHAP_R missing');
  assert.equal(reason({ CHAP_N: 'node1' }), 'CHAP_N/CHAP_R missing');
  assert.equal(reason({ CHAP_N: 'node1', CHAP_R: 'zz' }), 'CHAP_R is not a binary value');
  assert.equal(reason({ CHAP_N: 'node2', CHAP_R: good }), 'unknown CHAP user');
  assert.equal(reason({ CHAP_N: 'node', CHAP_R: good }), 'unknown CHAP user', 'a shorter name');
  assert.equal(reason({ CHAP_N: 'node1', CHAP_R: `${good}00` }), 'wrong CHAP response', 'a longer response');
  assert.equal(reason({ CHAP_N: 'node1', CHAP_R: good }), 'mutual CHAP required but not requested');
  const oneWay = { user: 'node1', secret: creds.secret };
  assert.deepEqual(verify({ CHAP_N: 'node1', CHAP_R: good }, oneWay), { ok: true, reply: [] });
  const base = { CHAP_N: 'node1', CHAP_R: good };
  const cc = `0x${Buffer.alloc(16, 0x22).toString('hex')}`;
  assert.equal(reason({ ...base, CHAP_I: '1' }), 'CHAP_I without CHAP_C (or the reverse)');
  assert.equal(reason({ ...base, CHAP_C: cc }), 'CHAP_I without CHAP_C (or the reverse)');
  assert.equal(reason({ ...base, CHAP_I: '1', CHAP_C: cc }, oneWay), 'mutual CHAP requested but not configured');
  assert.equal(
    reason({ ...base, CHAP_I: '1', CHAP_C: cc }, { ...creds, mutualUser: undefined } as unknown as typeof creds),
    'mutual CHAP requested but not configured',
  );
  assert.equal(
    reason({ ...base, CHAP_I: '1', CHAP_C: cc }, { ...creds, mutualSecret: undefined } as unknown as typeof creds),
    'mutual CHAP requested but not configured',
  );
  for (const ci of ['256', '1000', 'x1', '1x', '-1', '', '0x1']) assert.equal(reason({ ...base, CHAP_I: ci, CHAP_C: cc }), 'bad CHAP_I', ci);
  for (const ci of ['0', '255', '007']) assert.equal(reason({ ...base, CHAP_I: ci, CHAP_C: cc }), 'ok', ci);
  for (const c of ['0x', 'zz', '0bA', `0x${'aa'.repeat(1025)}`]) assert.equal(reason({ ...base, CHAP_I: '1', CHAP_C: c }), 'bad CHAP_C', c.slice(0, 12));
  for (const c of ['0xaa', `0x${'aa'.repeat(1024)}`]) assert.equal(reason({ ...base, CHAP_I: '1', CHAP_C: c }), 'ok', `${(c.length - 2) / 2} bytes`);
  assert.equal(reason({ ...base, CHAP_I: '1', CHAP_C: `0x${fixed(16).toString('hex')}` }), 'initiator reflected our challenge');
  assert.equal(reason({ ...base, CHAP_I: '1', CHAP_C: cc }, { ...creds, mutualSecret: creds.secret }), 'mutual secret equals the initiator secret');
  assert.deepEqual(verify({ ...base, CHAP_I: '9', CHAP_C: cc }), {
    ok: true,
    reply: [
      ['CHAP_N', 'target1'],
      ['CHAP_R', `0x${chapResponse(9, creds.mutualSecret, Buffer.alloc(16, 0x22)).toString('hex')}`],
    ],
  });
});
