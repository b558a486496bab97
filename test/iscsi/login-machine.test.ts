// The login state machine (src/iscsi/login.ts, RFC 7143 §6.3, §11.12-11.13) step by step, without
// sockets: every refusal with its status class/detail and reason, the stage and NSG rules, the
// fields that must not change during a login, text continuation (C bit) and its 64 KiB cap, the
// security stage (AuthMethod, CHAP_A, CHAP_N/CHAP_R in and out of sequence), the keys sent once
// (TargetPortalGroupTag, our MaxRecvDataSegmentLength) and what a completed login hands over.
// Each failure is compared as a whole LoginStep, so a changed field of the response is seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chapResponse, type ChapCredentials } from '../../src/iscsi/chap.js';
import { LoginNegotiation, LoginStatus, type LoginHost, type LoginStep, type LoginTargetInfo } from '../../src/iscsi/login.js';
import type { LoginRequestPdu } from '../../src/iscsi/pdu.js';
import { DEFAULT_LIMITS, encodeTextKeys, type TargetLimits, type TextPairs } from '../../src/iscsi/text-keys.js';

const INI = 'iqn.2026-12.i:a';
const TGT = 'iqn.2026-12.t:a';
const SECRET = 'Secret0123456789';
const CHAP: ChapCredentials = { user: 'u', secret: SECRET };
const ISID = '800000000001';

type Pdu = Partial<Omit<LoginRequestPdu, 'data'>> & { keys?: TextPairs; data?: Buffer };
/** A Login Request: by default T=1, CSG 1 → NSG 3, the same ISID/TSIH/CID/ITT every time. */
function pdu(o: Pdu = {}): LoginRequestPdu {
  const transit = o.transit ?? true;
  return {
    kind: 'login',
    immediate: true,
    final: transit,
    transit,
    cont: o.cont ?? false,
    csg: o.csg ?? 1,
    nsg: o.nsg ?? 3,
    versionMax: o.versionMax ?? 0,
    versionMin: o.versionMin ?? 0,
    isid: o.isid ?? Buffer.from(ISID, 'hex'),
    tsih: o.tsih ?? 0,
    cid: o.cid ?? 0,
    cmdSN: o.cmdSN ?? 1,
    expStatSN: 0,
    itt: o.itt ?? 1,
    data: o.data ?? encodeTextKeys(o.keys ?? []),
    bhs: Buffer.alloc(48),
  };
}

interface HostOpts {
  chap?: ChapCredentials;
  limits?: TargetLimits;
  remoteAddress?: string;
  asked?: Array<[string, string]>;
}
function host(o: HostOpts = {}): LoginHost {
  const target: LoginTargetInfo = {
    iqn: TGT,
    chap: o.chap,
    allows: (who, from) => {
      o.asked?.push([who, from]);
      return who === INI;
    },
  };
  return {
    findTarget: (iqn) => (iqn === TGT ? target : undefined),
    limits: o.limits ?? DEFAULT_LIMITS,
    remoteAddress: o.remoteAddress ?? '127.0.0.1',
    random: (n) => Buffer.alloc(n, 0x11), // CHAP_I 17, CHAP_C 0x1111…
  };
}
const NAMES: TextPairs = [
  ['InitiatorName', INI],
  ['TargetName', TGT],
];
const GOOD_R = `0x${chapResponse(17, SECRET, Buffer.alloc(16, 0x11)).toString('hex')}`;

/** The response a refused request gets: no transit, no continuation, NSG 0, the request's CSG. */
function refusal(csg: number, status: number, reason: string, keys: TextPairs = []): LoginStep {
  return { status, transit: false, cont: false, csg, nsg: 0, keys, reason };
}
const first = (p: Pdu, o: HostOpts = {}): LoginStep => new LoginNegotiation(host(o)).step(pdu(p));

test('login: version and T+C are checked before anything else', () => {
  assert.deepEqual(first({ versionMin: 1, keys: NAMES }), refusal(1, LoginStatus.UnsupportedVersion, 'unsupported version'));
  assert.deepEqual(first({ csg: 0, nsg: 1, versionMin: 2, keys: NAMES }), refusal(0, LoginStatus.UnsupportedVersion, 'unsupported version'));
  // VersionMax above ours is fine: we answer with version 0 (§11.12.4).
  assert.equal(first({ versionMax: 3, keys: NAMES }).status, LoginStatus.Success);
  assert.deepEqual(first({ transit: true, cont: true, keys: NAMES }), refusal(1, LoginStatus.InitiatorError, 'T and C both set'));
});

test('login: CSG must be the current stage; the first request may start in the operational stage', () => {
  assert.deepEqual(first({ csg: 3, keys: NAMES }), refusal(3, LoginStatus.InitiatorError, 'CSG 3 but the current stage is 0'));
  assert.deepEqual(first({ csg: 2, keys: NAMES }), refusal(2, LoginStatus.InitiatorError, 'CSG 2 but the current stage is 0'));
  // Started in the security stage: a later request cannot jump to CSG 1 without a transit.
  const n = new LoginNegotiation(host());
  const s0 = n.step(pdu({ csg: 0, nsg: 1, transit: false, keys: [...NAMES, ['AuthMethod', 'None']] }));
  assert.deepEqual(s0, {
    status: 0,
    transit: false,
    cont: false,
    csg: 0,
    nsg: 0,
    keys: [
      ['AuthMethod', 'None'],
      ['TargetPortalGroupTag', '1'],
    ],
  });
  assert.deepEqual(n.step(pdu({ csg: 1, nsg: 3 })), refusal(1, LoginStatus.InitiatorError, 'CSG 1 but the current stage is 0'));
  // Started in the operational stage: a request back in the security stage is refused.
  const op = new LoginNegotiation(host());
  assert.equal(op.step(pdu({ csg: 1, transit: false, keys: NAMES })).status, LoginStatus.Success);
  assert.deepEqual(op.step(pdu({ csg: 0, nsg: 1 })), refusal(0, LoginStatus.InitiatorError, 'CSG 0 but the current stage is 1'));
});

test('login: with T set, NSG must be above CSG and never 2; without T, NSG is ignored', () => {
  for (const [csg, nsg] of [
    [0, 0],
    [0, 2],
    [1, 0],
    [1, 1],
    [1, 2],
  ] as const) {
    assert.deepEqual(first({ csg, nsg, keys: NAMES }), refusal(csg, LoginStatus.InitiatorError, `bad NSG ${nsg}`), `CSG ${csg} NSG ${nsg}`);
  }
  // CSG 0 → NSG 1 and CSG 0 → NSG 3 (no authentication needed) and CSG 1 → NSG 3 are transitions.
  const s01 = first({ csg: 0, nsg: 1, keys: NAMES });
  assert.deepEqual([s01.status, s01.transit, s01.csg, s01.nsg, s01.complete], [0, true, 0, 1, undefined]);
  const s03 = first({ csg: 0, nsg: 3, keys: NAMES });
  assert.deepEqual([s03.status, s03.transit, s03.csg, s03.nsg, s03.complete?.initiatorName], [0, true, 0, 3, INI]);
  // Without T the NSG field means nothing: a 2 or a 0 is no error, and the response says NSG 0.
  for (const nsg of [0, 2]) {
    const s = first({ csg: 0, nsg, transit: false, keys: NAMES });
    assert.deepEqual([s.status, s.transit, s.csg, s.nsg, s.complete], [0, false, 0, 0, undefined], `no T, NSG ${nsg}`);
  }
});

test('login: ISID, TSIH, CID and ITT must stay those of the first request', () => {
  const changed = (o: Pdu) => {
    const n = new LoginNegotiation(host());
    assert.equal(n.step(pdu({ csg: 1, transit: false, keys: NAMES })).status, 0);
    return n.step(pdu({ csg: 1, ...o }));
  };
  const why = 'ISID/TSIH/CID/ITT changed during login';
  assert.deepEqual(changed({ isid: Buffer.from('800000000002', 'hex') }), refusal(1, LoginStatus.InitiatorError, why), 'ISID');
  assert.deepEqual(changed({ tsih: 1 }), refusal(1, LoginStatus.InitiatorError, why), 'TSIH');
  assert.deepEqual(changed({ cid: 1 }), refusal(1, LoginStatus.InitiatorError, why), 'CID');
  assert.deepEqual(changed({ itt: 2 }), refusal(1, LoginStatus.InitiatorError, why), 'ITT');
  // The same four (a new CmdSN is allowed): the login completes with the first request's values.
  const done = changed({ cmdSN: 9 });
  assert.equal(done.status, LoginStatus.Success);
  assert.equal(done.complete?.cmdSN, 1);
});

test('login: text continued over several requests (C bit) is joined; more than 64 KiB is refused', () => {
  const n = new LoginNegotiation(host());
  const text = encodeTextKeys(NAMES);
  // Cut inside a key: each continued request gets an empty response in the current stage.
  const cont = n.step(pdu({ csg: 0, nsg: 1, transit: false, cont: true, data: text.subarray(0, 20) }));
  assert.deepEqual(cont, { status: 0, transit: false, cont: false, csg: 0, nsg: 0, keys: [] });
  assert.equal(n.initiator, '', 'nothing is read before the last piece');
  const last = n.step(pdu({ csg: 0, nsg: 1, data: text.subarray(20) }));
  assert.deepEqual([last.status, last.transit, last.csg, last.nsg], [0, true, 0, 1]);
  assert.equal(n.initiator, INI);
  assert.equal(n.targetName, TGT);
  // The joined text is consumed: the next request starts afresh (a repeat would be "sent twice").
  const ff = n.step(pdu({ csg: 1, nsg: 3, keys: [['MaxRecvDataSegmentLength', '4096']] }));
  assert.equal(ff.status, LoginStatus.Success, ff.reason);
  assert.equal(ff.complete?.params.initiatorMaxRecvDataSegmentLength, 4096);

  // The cap counts every piece held, this one included: 65536 bytes wait, 65537 are refused.
  const capped = (sizes: number[]) => {
    const m = new LoginNegotiation(host());
    const out = sizes.map((s) => m.step(pdu({ csg: 0, transit: false, cont: true, data: Buffer.alloc(s, 0x41) })));
    return out.at(-1)!;
  };
  assert.deepEqual(capped([32768, 32768]), { status: 0, transit: false, cont: false, csg: 0, nsg: 0, keys: [] });
  assert.deepEqual(capped([65536]), { status: 0, transit: false, cont: false, csg: 0, nsg: 0, keys: [] });
  assert.deepEqual(capped([32768, 32769]), refusal(0, LoginStatus.OutOfResources, 'login text too long'));
  assert.deepEqual(capped([65537]), refusal(0, LoginStatus.OutOfResources, 'login text too long'));
});

test('login: malformed text and a refused operational value fail as initiator errors, naming why', () => {
  assert.deepEqual(
    first({ data: Buffer.from(`InitiatorName=${INI}\0novalue\0`) }),
    refusal(1, LoginStatus.InitiatorError, 'malformed login text: text key at byte 30: no "=" in "novalue"'),
  );
  assert.deepEqual(first({ keys: [...NAMES, ['MaxBurstLength', '12']] }), refusal(1, LoginStatus.InitiatorError, 'MaxBurstLength: "12" not in 512..16777215'));
});

test('login: the first request names the initiator, the session type and (normal) the target', () => {
  assert.deepEqual(first({ keys: [['TargetName', TGT]] }), refusal(1, LoginStatus.MissingParameter, 'no InitiatorName'));
  assert.deepEqual(
    first({
      keys: [
        ['InitiatorName', ''],
        ['TargetName', TGT],
      ],
    }),
    refusal(1, LoginStatus.MissingParameter, 'no InitiatorName'),
  );
  assert.deepEqual(
    first({
      keys: [
        ['InitiatorName', 'node1'],
        ['TargetName', TGT],
      ],
    }),
    refusal(1, LoginStatus.InitiatorError, 'InitiatorName is not an iSCSI name: no iqn., eui. or naa. type designator'),
  );
  assert.deepEqual(first({ keys: [...NAMES, ['SessionType', 'Boot']] }), refusal(1, LoginStatus.SessionTypeNotSupported, 'SessionType Boot'));
  assert.deepEqual(first({ keys: [['InitiatorName', INI]] }), refusal(1, LoginStatus.MissingParameter, 'no TargetName'));
  assert.deepEqual(
    first({
      keys: [
        ['InitiatorName', INI],
        ['TargetName', ''],
      ],
    }),
    refusal(1, LoginStatus.MissingParameter, 'no TargetName'),
  );
  assert.deepEqual(
    first({
      keys: [
        ['InitiatorName', INI],
        ['TargetName', 'target1'],
      ],
    }),
    refusal(1, LoginStatus.InitiatorError, 'TargetName is not an iSCSI name: no iqn., eui. or naa. type designator'),
  );
  assert.deepEqual(
    first({
      keys: [
        ['InitiatorName', INI],
        ['TargetName', 'iqn.2026-12.t:b'],
      ],
    }),
    refusal(1, LoginStatus.NotFound, 'no target iqn.2026-12.t:b'),
  );
  // The target decides with the initiator name and the connection's source address.
  const asked: Array<[string, string]> = [];
  assert.deepEqual(
    first(
      {
        keys: [
          ['InitiatorName', 'iqn.2026-12.i:b'],
          ['TargetName', TGT],
        ],
      },
      { remoteAddress: '10.1.2.3', asked },
    ),
    refusal(1, LoginStatus.AuthorizationFailure, `initiator iqn.2026-12.i:b from 10.1.2.3 not allowed on ${TGT}`),
  );
  assert.deepEqual(asked, [['iqn.2026-12.i:b', '10.1.2.3']]);
  // SessionType=Normal said aloud is the default.
  const normal = first({ keys: [...NAMES, ['SessionType', 'Normal']] });
  assert.equal(normal.complete?.sessionType, 'Normal');
  assert.equal(normal.complete?.target?.iqn, TGT);
});

test('login: a discovery session needs no target, gets no TargetPortalGroupTag and no CHAP', () => {
  const asked: Array<[string, string]> = [];
  const n = new LoginNegotiation(host({ chap: CHAP, asked }));
  const s = n.step(
    pdu({
      csg: 0,
      nsg: 3,
      keys: [
        ['InitiatorName', INI],
        ['SessionType', 'Discovery'],
        ['AuthMethod', 'None'],
      ],
    }),
  );
  assert.equal(s.status, LoginStatus.Success, s.reason);
  assert.deepEqual(s.keys, [
    ['AuthMethod', 'None'],
    ['MaxRecvDataSegmentLength', String(DEFAULT_LIMITS.maxRecvDataSegmentLength)],
  ]);
  assert.equal(s.complete?.sessionType, 'Discovery');
  assert.equal(s.complete?.target, undefined);
  assert.equal(n.targetName, undefined);
  assert.deepEqual(asked, [], 'no target is asked');
  // A later request of the discovery session may not add a TargetName or change the type.
  const later = (keys: TextPairs) => {
    const m = new LoginNegotiation(host());
    assert.equal(
      m.step(
        pdu({
          csg: 0,
          nsg: 1,
          keys: [
            ['InitiatorName', INI],
            ['SessionType', 'Discovery'],
          ],
        }),
      ).status,
      0,
    );
    return m.step(pdu({ csg: 1, nsg: 3, keys }));
  };
  assert.deepEqual(later([['TargetName', TGT]]), refusal(1, LoginStatus.InitiatorError, 'TargetName changed during login'));
  assert.deepEqual(later([['SessionType', 'Normal']]), refusal(1, LoginStatus.InitiatorError, 'SessionType changed during login'));
  assert.deepEqual(later([['InitiatorName', 'iqn.2026-12.i:b']]), refusal(1, LoginStatus.InitiatorError, 'InitiatorName changed during login'));
  const same = later([
    ['SessionType', 'Discovery'],
    ['InitiatorName', INI],
  ]);
  assert.equal(same.status, LoginStatus.Success, same.reason);
  assert.equal(same.complete?.sessionType, 'Discovery');
});

test('login: AuthMethod — CHAP when the target has secrets, None otherwise, Reject when nothing fits', () => {
  const am = (offer: string, chap?: ChapCredentials) => first({ csg: 0, nsg: 1, transit: false, keys: [...NAMES, ['AuthMethod', offer]] }, { chap });
  assert.deepEqual(am('None', CHAP), refusal(0, LoginStatus.AuthenticationFailure, 'CHAP required', [['AuthMethod', 'Reject']]));
  assert.deepEqual(am('None,CHAP', CHAP).keys, [
    ['AuthMethod', 'CHAP'],
    ['TargetPortalGroupTag', '1'],
  ]);
  assert.deepEqual(am('CHAP', CHAP).keys, [
    ['AuthMethod', 'CHAP'],
    ['TargetPortalGroupTag', '1'],
  ]);
  assert.deepEqual(am('CHAP'), refusal(0, LoginStatus.AuthenticationFailure, 'no common AuthMethod', [['AuthMethod', 'Reject']]));
  assert.deepEqual(am('CHAP,None').keys, [
    ['AuthMethod', 'None'],
    ['TargetPortalGroupTag', '1'],
  ]);
  assert.deepEqual(am('SRP,KRB5'), refusal(0, LoginStatus.AuthenticationFailure, 'no common AuthMethod', [['AuthMethod', 'Reject']]));
  // A CHAP target: leaving the security stage without any AuthMethod, or skipping it, is refused.
  assert.deepEqual(first({ csg: 0, nsg: 1, keys: NAMES }, { chap: CHAP }), refusal(0, LoginStatus.AuthenticationFailure, 'CHAP required'));
  assert.deepEqual(first({ csg: 0, nsg: 3, keys: NAMES }, { chap: CHAP }), refusal(0, LoginStatus.AuthenticationFailure, 'CHAP required'));
  assert.deepEqual(first({ keys: NAMES }, { chap: CHAP }), refusal(1, LoginStatus.AuthenticationFailure, 'CHAP required but the security stage was skipped'));
  // Without secrets, AuthMethod=None with T moves on at once.
  const none = first({ csg: 0, nsg: 1, keys: [...NAMES, ['AuthMethod', 'None']] });
  assert.deepEqual([none.status, none.transit, none.nsg], [0, true, 1]);
});

test('login: a CHAP exchange step by step, with T set all along (libiscsi) and without', () => {
  for (const t of [true, false]) {
    const n = new LoginNegotiation(host({ chap: CHAP }));
    const s1 = n.step(pdu({ csg: 0, nsg: 1, transit: t, keys: [...NAMES, ['AuthMethod', 'None,CHAP']] }));
    assert.deepEqual(
      s1,
      {
        status: 0,
        transit: false,
        cont: false,
        csg: 0,
        nsg: 0,
        keys: [
          ['AuthMethod', 'CHAP'],
          ['TargetPortalGroupTag', '1'],
        ],
      },
      `T=${t}`,
    );
    const s2 = n.step(pdu({ csg: 0, nsg: 1, transit: t, keys: [['CHAP_A', '7,5']] }));
    assert.deepEqual(s2, {
      status: 0,
      transit: false,
      cont: false,
      csg: 0,
      nsg: 0,
      keys: [
        ['CHAP_A', '5'],
        ['CHAP_I', '17'],
        ['CHAP_C', `0x${'11'.repeat(16)}`],
      ],
    });
    const s3 = n.step(
      pdu({
        csg: 0,
        nsg: 1,
        transit: t,
        keys: [
          ['CHAP_N', 'u'],
          ['CHAP_R', GOOD_R],
        ],
      }),
    );
    assert.deepEqual(s3, { status: 0, transit: t, cont: false, csg: 0, nsg: t ? 1 : 0, keys: [] }, `T=${t}`);
    if (!t) {
      // Authenticated: the next request with T leaves the security stage.
      const s4 = n.step(pdu({ csg: 0, nsg: 1, transit: true }));
      assert.deepEqual(s4, { status: 0, transit: true, cont: false, csg: 0, nsg: 1, keys: [] });
    }
    // A CHAP_A now is out of sequence.
    const again = new LoginNegotiation(host({ chap: CHAP }));
    again.step(pdu({ csg: 0, nsg: 1, transit: false, keys: [...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', '5']] }));
    assert.deepEqual(
      again.step(pdu({ csg: 0, nsg: 1, transit: false, keys: [['CHAP_A', '5']] })),
      refusal(0, LoginStatus.InitiatorError, 'CHAP_A out of sequence'),
    );
    const ff = n.step(pdu({ csg: 1, nsg: 3 }));
    assert.equal(ff.status, LoginStatus.Success, ff.reason);
    assert.equal(ff.complete?.target?.chap, CHAP);
  }
  // Straight from the security stage to full feature once authenticated.
  const direct = new LoginNegotiation(host({ chap: CHAP }));
  direct.step(pdu({ csg: 0, nsg: 3, keys: [...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', '5']] }));
  const done = direct.step(
    pdu({
      csg: 0,
      nsg: 3,
      keys: [
        ['CHAP_N', 'u'],
        ['CHAP_R', GOOD_R],
      ],
    }),
  );
  assert.deepEqual([done.status, done.transit, done.nsg, done.complete?.initiatorName], [0, true, 3, INI]);
});

test('login: CHAP keys out of sequence or wrong are refused with the reason', () => {
  const chapTarget = () => new LoginNegotiation(host({ chap: CHAP }));
  const sec = (keys: TextPairs) => pdu({ csg: 0, nsg: 1, transit: false, keys });
  // CHAP_A before AuthMethod=CHAP; CHAP_A without MD5 (5).
  assert.deepEqual(chapTarget().step(sec([...NAMES, ['CHAP_A', '5']])), refusal(0, LoginStatus.InitiatorError, 'CHAP_A out of sequence'));
  // CHAP_A is a list of algorithm numbers: 15 is not 5.
  for (const algs of ['6,7', '15', '51', '']) {
    assert.deepEqual(
      chapTarget().step(sec([...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', algs]])),
      refusal(0, LoginStatus.AuthenticationFailure, 'CHAP_A without MD5', [['CHAP_A', 'Reject']]),
      algs,
    );
  }
  // CHAP_N or CHAP_R before the challenge (with or without AuthMethod), alone or together.
  for (const keys of [
    [['CHAP_N', 'u']],
    [['CHAP_R', GOOD_R]],
    [
      ['CHAP_N', 'u'],
      ['CHAP_R', GOOD_R],
    ],
  ] as TextPairs[]) {
    assert.deepEqual(chapTarget().step(sec([...NAMES, ...keys])), refusal(0, LoginStatus.InitiatorError, 'CHAP_R out of sequence'));
    const n = chapTarget();
    n.step(sec([...NAMES, ['AuthMethod', 'CHAP']]));
    assert.deepEqual(n.step(sec(keys)), refusal(0, LoginStatus.InitiatorError, 'CHAP_R out of sequence'));
  }
  const challenged = () => {
    const n = chapTarget();
    assert.equal(n.step(sec([...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', '5']])).status, 0);
    return n;
  };
  assert.deepEqual(challenged().step(sec([['CHAP_N', 'u']])), refusal(0, LoginStatus.AuthenticationFailure, 'CHAP_N/CHAP_R missing'));
  const wrong = `0x${chapResponse(17, 'Secret0123456780', Buffer.alloc(16, 0x11)).toString('hex')}`;
  assert.deepEqual(
    challenged().step(
      sec([
        ['CHAP_N', 'u'],
        ['CHAP_R', wrong],
      ]),
    ),
    refusal(0, LoginStatus.AuthenticationFailure, 'wrong CHAP response'),
  );
  // Answered once: a second CHAP_R is out of sequence.
  const n = challenged();
  assert.equal(
    n.step(
      sec([
        ['CHAP_N', 'u'],
        ['CHAP_R', GOOD_R],
      ]),
    ).status,
    0,
  );
  assert.deepEqual(
    n.step(
      sec([
        ['CHAP_N', 'u'],
        ['CHAP_R', GOOD_R],
      ]),
    ),
    refusal(0, LoginStatus.InitiatorError, 'CHAP_R out of sequence'),
  );
  // Mutual CHAP: the target's CHAP_N/CHAP_R come back in the response.
  const mutual = { ...CHAP, mutualUser: 't', mutualSecret: 'Mutual0123456789' };
  const m = new LoginNegotiation(host({ chap: mutual }));
  m.step(sec([...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', '5']]));
  const ic = Buffer.alloc(16, 0x33);
  const r = m.step(
    pdu({
      csg: 0,
      nsg: 1,
      keys: [
        ['CHAP_N', 'u'],
        ['CHAP_R', GOOD_R],
        ['CHAP_I', '9'],
        ['CHAP_C', `0x${ic.toString('hex')}`],
      ],
    }),
  );
  assert.deepEqual(r, {
    status: 0,
    transit: true,
    cont: false,
    csg: 0,
    nsg: 1,
    keys: [
      ['CHAP_N', 't'],
      ['CHAP_R', `0x${chapResponse(9, mutual.mutualSecret, ic).toString('hex')}`],
    ],
  });
});

test('login: TargetPortalGroupTag and our MaxRecvDataSegmentLength are sent once, MRDSL on entering full feature', () => {
  const limits = { ...DEFAULT_LIMITS, maxRecvDataSegmentLength: 65536 };
  // Not declared by the initiator: we declare ours in the response that enters full feature.
  const n = new LoginNegotiation(host({ limits }));
  const s1 = n.step(pdu({ csg: 0, nsg: 1, keys: NAMES }));
  assert.deepEqual(s1.keys, [['TargetPortalGroupTag', '1']], 'nothing declared on the way to the operational stage');
  const s2 = n.step(pdu({ csg: 1, nsg: 3, keys: [['MaxBurstLength', '65536']] }));
  assert.deepEqual(s2.keys, [
    ['MaxBurstLength', '65536'],
    ['MaxRecvDataSegmentLength', '65536'],
  ]);
  assert.equal(s2.complete?.params.targetMaxRecvDataSegmentLength, 65536);
  assert.equal(s2.complete?.params.initiatorMaxRecvDataSegmentLength, 8192, 'the §13 default');
  // Declared by the initiator in an earlier request: answered there, not again.
  const m = new LoginNegotiation(host({ limits }));
  const t1 = m.step(pdu({ csg: 1, transit: false, keys: [...NAMES, ['MaxRecvDataSegmentLength', '16384']] }));
  assert.deepEqual(t1.keys, [
    ['MaxRecvDataSegmentLength', '65536'],
    ['TargetPortalGroupTag', '1'],
  ]);
  const t2 = m.step(pdu({ csg: 1, nsg: 3 }));
  assert.deepEqual(t2.keys, []);
  assert.deepEqual([t2.complete?.params.initiatorMaxRecvDataSegmentLength, t2.complete?.params.targetMaxRecvDataSegmentLength], [16384, 65536]);
  // In one request: declared once.
  const one = first({ keys: [...NAMES, ['MaxRecvDataSegmentLength', '16384']] }, { limits });
  assert.deepEqual(one.keys, [
    ['MaxRecvDataSegmentLength', '65536'],
    ['TargetPortalGroupTag', '1'],
  ]);
});

test('login: the completed login hands over the first request identity, a copy of the parameters', () => {
  const n = new LoginNegotiation(host());
  assert.equal(n.firstPdu, undefined);
  const p1 = pdu({ csg: 0, nsg: 1, tsih: 0x1234, cid: 7, cmdSN: 42, itt: 5, keys: [...NAMES, ['AuthMethod', 'None']] });
  n.step(p1);
  assert.equal(n.firstPdu, p1);
  const s = n.step(pdu({ csg: 1, nsg: 3, tsih: 0x1234, cid: 7, cmdSN: 43, itt: 5, keys: [['MaxConnections', '1']] }));
  assert.equal(s.status, LoginStatus.Success, s.reason);
  const c = s.complete!;
  assert.deepEqual(
    { ...c, isid: c.isid.toString('hex'), target: c.target?.iqn },
    {
      sessionType: 'Normal',
      initiatorName: INI,
      target: TGT,
      isid: ISID,
      tsih: 0x1234,
      cid: 7,
      cmdSN: 42,
      params: { ...c.params },
    },
  );
  assert.notEqual(c.isid, p1.isid, 'the ISID is copied out of the request');
  assert.equal(c.params.maxConnections, 1);
  assert.equal(c.params.targetMaxRecvDataSegmentLength, DEFAULT_LIMITS.maxRecvDataSegmentLength);
  assert.equal(n.initiator, INI);
  assert.equal(n.targetName, TGT);
});

test('login: a refused or completed login stays so; security keys sent in the operational stage are ignored', () => {
  const n = new LoginNegotiation(host());
  assert.deepEqual(n.step(pdu({ keys: [['TargetName', TGT]] })), refusal(1, LoginStatus.MissingParameter, 'no InitiatorName'));
  // Nothing learnt before the refusal completes a login, however good the next request.
  assert.deepEqual(n.step(pdu({ keys: NAMES })), refusal(1, LoginStatus.InitiatorError, 'login already refused'));
  assert.deepEqual(n.step(pdu({ csg: 0, nsg: 1, keys: NAMES })), refusal(0, LoginStatus.InitiatorError, 'login already refused'));
  // A failed CHAP response, then the right one: still refused.
  const c = new LoginNegotiation(host({ chap: CHAP }));
  c.step(pdu({ csg: 0, nsg: 1, transit: false, keys: [...NAMES, ['AuthMethod', 'CHAP'], ['CHAP_A', '5']] }));
  assert.equal(
    c.step(
      pdu({
        csg: 0,
        nsg: 1,
        keys: [
          ['CHAP_N', 'u'],
          ['CHAP_R', '0x00'],
        ],
      }),
    ).reason,
    'wrong CHAP response',
  );
  assert.deepEqual(
    c.step(
      pdu({
        csg: 0,
        nsg: 1,
        keys: [
          ['CHAP_N', 'u'],
          ['CHAP_R', GOOD_R],
        ],
      }),
    ),
    refusal(0, LoginStatus.InitiatorError, 'login already refused'),
  );
  // A completed login is over: a further request (even one in CSG 3) is refused.
  const done = new LoginNegotiation(host());
  assert.equal(done.step(pdu({ keys: NAMES })).status, LoginStatus.Success);
  assert.deepEqual(
    done.step(pdu({ csg: 3, nsg: 3, transit: false, keys: [['MaxRecvDataSegmentLength', '4096']] })),
    refusal(3, LoginStatus.InitiatorError, 'login already complete'),
  );
  // AuthMethod and CHAP_A belong to the security stage: in the operational stage they get no answer.
  const op = first({ keys: [...NAMES, ['AuthMethod', 'None'], ['CHAP_A', '5']] });
  assert.equal(op.status, LoginStatus.Success, op.reason);
  assert.deepEqual(op.keys, [
    ['TargetPortalGroupTag', '1'],
    ['MaxRecvDataSegmentLength', String(DEFAULT_LIMITS.maxRecvDataSegmentLength)],
  ]);
});
