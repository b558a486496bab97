// Boundaries of the iSCSI text layer (RFC 7143 §6, §13): the value-length limit of parseTextKeys,
// the digest choice with and without digests allowed, and, for every negotiated key, its smallest
// and largest legal value, one past each, each value type (decimal, hex, Yes/No) and the result
// function (min, max, OR, AND) — checked one key at a time so a changed bound names its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginNegotiation, LoginStatus, type LoginHost } from '../../src/iscsi/login.js';
import type { LoginRequestPdu } from '../../src/iscsi/pdu.js';
import {
  DEFAULT_LIMITS,
  NegotiationError,
  encodeTextKeys,
  defaultParams,
  negotiate,
  parseBinary,
  parseNumber,
  parseTextKeys,
  type NegotiatedParams,
  type TargetLimits,
  type TextPairs,
} from '../../src/iscsi/text-keys.js';

function one(
  key: string,
  value: string,
  opts: { limits?: TargetLimits; session?: 'Normal' | 'Discovery'; params?: NegotiatedParams } = {},
): { reply: string | undefined; params: NegotiatedParams } {
  const params = opts.params ?? defaultParams();
  const reply = negotiate([[key, value]], params, opts.limits ?? DEFAULT_LIMITS, opts.session ?? 'Normal', { mrdsl: false });
  return { reply: new Map(reply).get(key), params };
}
function refused(key: string, value: string): void {
  assert.throws(
    () => one(key, value),
    (e: unknown) => e instanceof NegotiationError && e.key === key,
    `${key}=${value} must be refused`,
  );
}

test('parseTextKeys: a value of 8192 bytes is accepted, 8193 is refused naming the key', () => {
  const pair = (n: number) => Buffer.from(`TargetAlias=${'v'.repeat(n)}\0`);
  assert.equal(parseTextKeys(pair(8192))[0]![1].length, 8192);
  assert.throws(() => parseTextKeys(pair(8193)), { code: 'E_ISCSI_TEXT', message: /TargetAlias.*longer than 8192/ });
  assert.throws(() => parseTextKeys(Buffer.from(`A=1\0B=${'x'.repeat(100_000)}`)), { code: 'E_ISCSI_TEXT', message: /byte 4/ });
  // key names: 1..63 characters from the §6.1 set
  assert.deepEqual(parseTextKeys(Buffer.from(`${'K'.repeat(63)}=1\0`)), [['K'.repeat(63), '1']]);
  assert.throws(() => parseTextKeys(Buffer.from(`${'K'.repeat(64)}=1\0`)), { code: 'E_ISCSI_TEXT', message: /bad key name/ });
  assert.throws(() => parseTextKeys(Buffer.from('=1\0')), { code: 'E_ISCSI_TEXT' });
  assert.deepEqual(parseTextKeys(Buffer.from('A=\0')), [['A', '']], 'an empty value is a value');
});

test('parseNumber: decimal up to 20 digits, hex 0x up to 16 digits; anything else NaN', () => {
  assert.equal(parseNumber('0'), 0);
  assert.equal(parseNumber('0x200'), 512);
  assert.equal(parseNumber('0XfF'), 255);
  for (const bad of ['', '-1', '+1', '1.5', '0x', '0x' + '1'.repeat(17), '1'.repeat(21), ' 1', '1e3', '0b1']) assert.ok(Number.isNaN(parseNumber(bad)), bad);
});

test('digests: the first acceptable choice in the initiator order; CRC32C never picked when digests are disallowed', () => {
  const allow = { ...DEFAULT_LIMITS, allowDigests: true };
  const deny = { ...DEFAULT_LIMITS, allowDigests: false };
  for (const key of ['HeaderDigest', 'DataDigest'] as const) {
    const field = key === 'HeaderDigest' ? 'headerDigest' : 'dataDigest';
    assert.deepEqual([one(key, 'CRC32C', { limits: allow }).reply, one(key, 'CRC32C', { limits: allow }).params[field]], ['CRC32C', true], key);
    assert.equal(one(key, 'None,CRC32C', { limits: allow }).reply, 'None', key);
    assert.equal(one(key, 'CRC32C,None', { limits: allow }).reply, 'CRC32C', key);
    // disallowed: CRC32C alone is rejected, and a list falls through to None
    const alone = one(key, 'CRC32C', { limits: deny });
    assert.deepEqual([alone.reply, alone.params[field]], ['Reject', false], `${key} CRC32C, digests disallowed`);
    const list = one(key, 'CRC32C,None', { limits: deny });
    assert.deepEqual([list.reply, list.params[field]], ['None', false], `${key} CRC32C,None, digests disallowed`);
    assert.equal(one(key, 'MD5', { limits: allow }).reply, 'Reject', 'unknown digest');
    assert.equal(one(key, '', { limits: allow }).reply, 'Reject');
    assert.equal(one(key, 'crc32c', { limits: allow }).reply, 'Reject', 'values are case-sensitive');
  }
});

// [key, min, max, what we answer to min, to max, the params field it sets (or null)]
const NUMERIC: Array<[string, number, number, string, string, keyof NegotiatedParams | null]> = [
  // declarative: we declare our own MRDSL; the initiator's bounds our Data-In (a 0 would stall it)
  [
    'MaxRecvDataSegmentLength',
    512,
    16777215,
    String(DEFAULT_LIMITS.maxRecvDataSegmentLength),
    String(DEFAULT_LIMITS.maxRecvDataSegmentLength),
    'initiatorMaxRecvDataSegmentLength',
  ],
  ['MaxBurstLength', 512, 16777215, '512', String(DEFAULT_LIMITS.maxBurstLength), 'maxBurstLength'], // min
  ['FirstBurstLength', 512, 16777215, '512', String(DEFAULT_LIMITS.firstBurstLength), null], // min (then ≤ MaxBurstLength)
  ['MaxOutstandingR2T', 1, 65535, '1', String(DEFAULT_LIMITS.maxOutstandingR2T), 'maxOutstandingR2T'], // min
  ['MaxConnections', 1, 65535, '1', '1', 'maxConnections'], // min with our 1
  ['DefaultTime2Wait', 0, 3600, '2', '3600', 'defaultTime2Wait'], // max with our 2
  ['DefaultTime2Retain', 0, 3600, '0', '20', 'defaultTime2Retain'], // min with our 20
  ['ErrorRecoveryLevel', 0, 2, '0', '0', 'errorRecoveryLevel'], // min with our 0
  ['iSCSIProtocolLevel', 0, 31, '0', '1', null], // min with our 1
];

test('every numeric key: min and max accepted (decimal and hex), one below min and one above max refused', () => {
  for (const [key, min, max, atMin, atMax, field] of NUMERIC) {
    const lo = one(key, String(min));
    const hi = one(key, String(max));
    assert.equal(lo.reply, atMin, `${key}=${min}`);
    assert.equal(hi.reply, atMax, `${key}=${max}`);
    assert.equal(one(key, `0x${max.toString(16)}`).reply, atMax, `${key}=0x${max.toString(16)}`);
    if (field === 'initiatorMaxRecvDataSegmentLength') {
      assert.equal(lo.params[field], min);
      assert.equal(hi.params[field], max);
    } else if (field !== null) {
      assert.equal(String(lo.params[field]), atMin, `${key} params at min`);
      assert.equal(String(hi.params[field]), atMax, `${key} params at max`);
    }
    if (min > 0) refused(key, String(min - 1));
    refused(key, String(max + 1));
    for (const bad of ['', 'x', '-1', '1.0', 'Yes']) refused(key, bad);
  }
  // 0 in particular: an MRDSL of 0 would make the Data-In loop send empty PDUs forever
  refused('MaxRecvDataSegmentLength', '0');
  refused('MaxRecvDataSegmentLength', '511');
  refused('MaxRecvDataSegmentLength', '0x1ff');
});

test('MaxRecvDataSegmentLength is declared once per login; FirstBurstLength never exceeds MaxBurstLength', () => {
  const params = defaultParams();
  const declared = { mrdsl: false };
  const first = negotiate([['MaxRecvDataSegmentLength', '4096']], params, DEFAULT_LIMITS, 'Normal', declared);
  const again = negotiate([['MaxRecvDataSegmentLength', '1024']], params, DEFAULT_LIMITS, 'Normal', declared);
  assert.deepEqual(first, [['MaxRecvDataSegmentLength', String(DEFAULT_LIMITS.maxRecvDataSegmentLength)]]);
  assert.deepEqual(again, []);
  assert.deepEqual([params.initiatorMaxRecvDataSegmentLength, params.targetMaxRecvDataSegmentLength], [1024, DEFAULT_LIMITS.maxRecvDataSegmentLength]);
  const p = defaultParams();
  negotiate(
    [
      ['MaxBurstLength', '512'],
      ['FirstBurstLength', '16777215'],
    ],
    p,
    DEFAULT_LIMITS,
    'Normal',
    { mrdsl: true },
  );
  assert.deepEqual([p.maxBurstLength, p.firstBurstLength], [512, 512]);
});

test('every Yes/No key: exactly "Yes" and "No", with its result function', () => {
  const limits = { ...DEFAULT_LIMITS, initialR2T: false, immediateData: true };
  // [key, answer to Yes, answer to No]
  const BOOL: Array<[string, string, string]> = [
    ['InitialR2T', 'Yes', 'No'], // OR with our No
    ['ImmediateData', 'Yes', 'No'], // AND with our Yes
    ['DataPDUInOrder', 'Yes', 'Yes'], // OR with our Yes
    ['DataSequenceInOrder', 'Yes', 'Yes'],
    ['IFMarker', 'No', 'No'], // AND with our No
    ['OFMarker', 'No', 'No'],
  ];
  for (const [key, yes, no] of BOOL) {
    assert.equal(one(key, 'Yes', { limits }).reply, yes, `${key}=Yes`);
    assert.equal(one(key, 'No', { limits }).reply, no, `${key}=No`);
    for (const bad of ['yes', 'NO', '1', '', 'Yes,No']) refused(key, bad);
  }
  // a target that insists on InitialR2T / refuses ImmediateData wins whatever the initiator says
  const strict = { ...DEFAULT_LIMITS, initialR2T: true, immediateData: false };
  assert.equal(one('InitialR2T', 'No', { limits: strict }).reply, 'Yes');
  assert.equal(one('ImmediateData', 'Yes', { limits: strict }).reply, 'No');
});

test('discovery sessions: every normal-only key is Irrelevant whatever its value; the rest still negotiate', () => {
  for (const key of [
    'MaxConnections',
    'InitialR2T',
    'ImmediateData',
    'MaxBurstLength',
    'FirstBurstLength',
    'MaxOutstandingR2T',
    'DataPDUInOrder',
    'DataSequenceInOrder',
  ]) {
    assert.equal(one(key, 'nonsense', { session: 'Discovery' }).reply, 'Irrelevant', key);
  }
  assert.throws(() => one('MaxRecvDataSegmentLength', '0', { session: 'Discovery' }), NegotiationError);
  assert.equal(one('HeaderDigest', 'None', { session: 'Discovery' }).reply, 'None');
  assert.equal(one('IFMarkInt', '1~65535').reply, 'Irrelevant');
  assert.equal(one('TaskReporting', 'FastAbort').reply, 'RFC3720');
  assert.equal(one('X-org.example.Key', '1').reply, 'NotUnderstood');
  // login keys are the login layer's: negotiate leaves them out of its reply
  assert.equal(one('InitiatorName', 'iqn.2026-12.i:a').reply, undefined);
});

// The same bounds seen from a whole login (one PDU, no authentication): a refused value fails the
// login as an initiator error (RFC 7143 §11.13.5, 0x0200); a disallowed digest is never in force.
function login(keys: TextPairs, limits: TargetLimits = DEFAULT_LIMITS) {
  const host: LoginHost = {
    findTarget: (iqn) => (iqn === 'iqn.2026-12.t:a' ? { iqn, chap: undefined, allows: () => true } : undefined),
    limits,
    remoteAddress: '127.0.0.1',
    random: (n) => Buffer.alloc(n, 0x11),
  };
  const pdu: LoginRequestPdu = {
    kind: 'login',
    immediate: true,
    final: true,
    transit: true,
    cont: false,
    csg: 1,
    nsg: 3,
    versionMax: 0,
    versionMin: 0,
    isid: Buffer.from('800000000001', 'hex'),
    tsih: 0,
    cid: 0,
    cmdSN: 1,
    expStatSN: 0,
    itt: 1,
    data: encodeTextKeys([['InitiatorName', 'iqn.2026-12.i:a'], ['TargetName', 'iqn.2026-12.t:a'], ...keys]),
    bhs: Buffer.alloc(48),
  };
  return new LoginNegotiation(host).step(pdu);
}

test('login: MaxRecvDataSegmentLength 0 or 511 fails the login (initiator error), 512 logs in and bounds Data-In', () => {
  for (const v of ['0', '511']) assert.equal(login([['MaxRecvDataSegmentLength', v]]).status, LoginStatus.InitiatorError, v);
  const ok = login([['MaxRecvDataSegmentLength', '512']]);
  assert.equal(ok.status, LoginStatus.Success);
  assert.equal(ok.complete?.params.initiatorMaxRecvDataSegmentLength, 512);
});

test('login: with digests disallowed, an initiator offering only CRC32C gets Reject and no digest is in force', () => {
  const deny = { ...DEFAULT_LIMITS, allowDigests: false };
  const r = login(
    [
      ['HeaderDigest', 'CRC32C'],
      ['DataDigest', 'CRC32C,None'],
    ],
    deny,
  );
  const keys = new Map(r.keys);
  assert.equal(keys.get('HeaderDigest'), 'Reject');
  assert.equal(keys.get('DataDigest'), 'None');
  assert.equal(r.status, LoginStatus.Success);
  assert.deepEqual([r.complete?.params.headerDigest, r.complete?.params.dataDigest], [false, false]);
  const allow = login([
    ['HeaderDigest', 'CRC32C'],
    ['DataDigest', 'CRC32C,None'],
  ]);
  assert.equal(allow.status, LoginStatus.Success);
  assert.deepEqual([allow.complete?.params.headerDigest, allow.complete?.params.dataDigest], [true, true]);
});

// Edges found by mutation testing (docs/mutation.md): parse errors' exact text, a leading NUL, binary
// values (§6.1.1), the §13 defaults, login-layer keys left alone, OR-ed / fixed results.
test('text layer edges: parse messages, leading NULs, binary values, §13 defaults, login keys skipped, fixed answers', () => {
  const parseErr = (text: string) => {
    try {
      parseTextKeys(Buffer.from(text));
    } catch (e) {
      return (e as Error).message;
    }
    return 'parsed';
  };
  assert.equal(parseErr('=v\0'), 'text key at byte 0: no "=" in "=v"', 'an empty key is a missing key');
  assert.equal(parseErr(`${'k'.repeat(50)}\0`), `text key at byte 0: no "=" in "${'k'.repeat(40)}"`);
  assert.equal(parseErr(`A=1\0${'b'.repeat(45)} x=1\0`), `text key at byte 4: bad key name "${'b'.repeat(40)}"`);
  assert.deepEqual(parseTextKeys(Buffer.from('\0\0MaxConnections=1\0')), [['MaxConnections', '1']], 'leading NULs skipped');
  assert.deepEqual(encodeTextKeys([]), Buffer.alloc(0));
  assert.deepEqual(encodeTextKeys([['TargetAlias', 'ä']]), Buffer.from('TargetAlias=\u00e4\0', 'utf8'));
  // numbers: hex is anchored at both ends
  for (const bad of ['x0x10', 'ab0x10', '0x10z', '0x', '0x12345678901234567']) assert.ok(Number.isNaN(parseNumber(bad)), bad);
  // binary values: 0x hex (an odd digit count gets a leading zero) or 0b base64, anchored
  const bin = (v: string) => parseBinary(v)?.toString('hex');
  assert.equal(bin('0x0102'), '0102');
  assert.equal(bin('0X102'), '0102', 'odd digit count');
  assert.equal(bin('0xa'), '0a');
  assert.equal(bin('0bAQI='), '0102');
  assert.equal(bin('0BAQ=='), '01');
  assert.equal(bin('0bAQID'), '010203');
  for (const bad of ['x0x0102', '0x0102z', '0x', '0x01 02', '0b', '0bAQ===', 'z0bAQ==', '0bAQ==z', '0zAQ==', '0102']) assert.equal(bin(bad), undefined, bad);
  // the defaults of RFC 7143 §13 (what holds for a key the initiator does not send)
  assert.deepEqual(defaultParams(), {
    headerDigest: false,
    dataDigest: false,
    maxConnections: 1,
    initialR2T: true,
    immediateData: true,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: 8192,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    maxOutstandingR2T: 1,
    dataPduInOrder: true,
    dataSequenceInOrder: true,
    errorRecoveryLevel: 0,
  });
  // keys of the login layer get no operational answer
  const loginKeys = ['InitiatorName', 'InitiatorAlias', 'TargetName', 'SessionType', 'AuthMethod', 'CHAP_A', 'CHAP_I', 'CHAP_C', 'CHAP_N', 'CHAP_R'];
  assert.deepEqual(
    negotiate(
      loginKeys.map((k) => [k, 'x']),
      defaultParams(),
      DEFAULT_LIMITS,
      'Normal',
      { mrdsl: true },
    ),
    [],
  );
  // OR with our Yes: the initiator's No still yields in-order delivery
  const noOrder = defaultParams();
  noOrder.dataPduInOrder = false;
  noOrder.dataSequenceInOrder = false;
  assert.equal(one('DataPDUInOrder', 'No', { params: noOrder }).reply, 'Yes');
  assert.equal(one('DataSequenceInOrder', 'No', { params: noOrder }).reply, 'Yes');
  assert.deepEqual([noOrder.dataPduInOrder, noOrder.dataSequenceInOrder], [true, true]);
  assert.equal(one('TaskReporting', 'RFC3720,ResponseFence').reply, 'RFC3720');
  for (const k of ['IFMarkInt', 'OFMarkInt']) assert.equal(one(k, '2048~8192').reply, 'Irrelevant', k);
  // a FirstBurstLength below MaxBurstLength stays
  const bursts = defaultParams();
  negotiate(
    [
      ['MaxBurstLength', '262144'],
      ['FirstBurstLength', '65536'],
    ],
    bursts,
    DEFAULT_LIMITS,
    'Normal',
    { mrdsl: true },
  );
  assert.deepEqual([bursts.maxBurstLength, bursts.firstBurstLength], [262144, 65536]);
  // the refusal names the key, the value and the range
  assert.throws(() => one('InitialR2T', 'yes'), { message: 'InitialR2T: not Yes/No: "yes"' });
  assert.throws(() => one('MaxConnections', '0'), { message: 'MaxConnections: "0" not in 1..65535' });
});
