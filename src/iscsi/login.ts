// The login phase of one connection (RFC 7143 §6.3, §11.12-11.13): security negotiation
// (AuthMethod, CHAP), operational negotiation (text-keys.ts), stage transitions, and the
// checks that decide who may log in: the target must exist, the initiator name (and source
// address, when configured) must be allowed, CHAP must succeed when the target has secrets.
// No sockets here: `LoginNegotiation.step()` turns one Login Request into the response fields
// and, at the end, the facts the connection needs to create or join a session.
import type { LoginRequestPdu } from './pdu.js';
import { ChapAuthenticator, type ChapCredentials } from './chap.js';
import { iscsiNameProblem } from '../validate/iscsi-name.js';
import { NegotiationError, defaultParams, negotiate, parseTextKeys, type NegotiatedParams, type TargetLimits, type TextPairs } from './text-keys.js';

/** Login status (§11.13.5): class in the high byte, detail in the low byte. */
export const LoginStatus = {
  Success: 0x0000,
  InitiatorError: 0x0200,
  AuthenticationFailure: 0x0201,
  AuthorizationFailure: 0x0202,
  NotFound: 0x0203,
  TargetRemoved: 0x0204,
  UnsupportedVersion: 0x0205,
  TooManyConnections: 0x0206,
  MissingParameter: 0x0207,
  CantIncludeInSession: 0x0208,
  SessionTypeNotSupported: 0x0209,
  SessionDoesNotExist: 0x020a,
  InvalidDuringLogin: 0x020b,
  TargetError: 0x0300,
  ServiceUnavailable: 0x0301,
  OutOfResources: 0x0302,
} as const;

export const Stage = { Security: 0, Operational: 1, FullFeature: 3 } as const;

/** What the login layer needs to know about a target. */
export interface LoginTargetInfo {
  iqn: string;
  chap: ChapCredentials | undefined;
  /** True when this initiator name from this address may log in. */
  allows(initiatorName: string, remoteAddress: string): boolean;
}

export interface LoginHost {
  findTarget(iqn: string): LoginTargetInfo | undefined;
  limits: TargetLimits;
  remoteAddress: string;
  /** Random source for CHAP (tests inject a fixed one). */
  random?: (n: number) => Buffer;
}

export interface LoginResult {
  sessionType: 'Normal' | 'Discovery';
  initiatorName: string;
  target: LoginTargetInfo | undefined;
  isid: Buffer;
  tsih: number;
  cid: number;
  cmdSN: number;
  params: NegotiatedParams;
}

export interface LoginStep {
  status: number;
  transit: boolean;
  cont: boolean;
  csg: number;
  nsg: number;
  keys: TextPairs;
  /** Set when the response moves the connection to full-feature phase. */
  complete?: LoginResult;
  /** A reason for logs and counters when status is not Success (never contains secrets). */
  reason?: string;
}

export class LoginNegotiation {
  private stage: number = Stage.Security;
  private first: LoginRequestPdu | undefined;
  private initiatorName = '';
  private sessionType: 'Normal' | 'Discovery' = 'Normal';
  private target: LoginTargetInfo | undefined;
  private auth: 'unset' | 'none' | 'chap-a' | 'chap-r' | 'done' = 'unset';
  private chap: ChapAuthenticator | undefined;
  private readonly params = defaultParams();
  private readonly declared = { mrdsl: false };
  private partial: Buffer[] = [];
  /** The first complete text (all pieces of the first request, C bit) has been read. */
  private named = false;
  private sentTpgt = false;
  /** Set by the first refusal: a refused login stays refused. */
  private refused = false;

  constructor(private readonly host: LoginHost) {}

  get initiator(): string {
    return this.initiatorName;
  }
  get targetName(): string | undefined {
    return this.target?.iqn;
  }

  private fail(pdu: LoginRequestPdu, status: number, reason: string, keys: TextPairs = []): LoginStep {
    this.refused = true;
    return { status, transit: false, cont: false, csg: pdu.csg, nsg: 0, keys, reason };
  }

  step(pdu: LoginRequestPdu): LoginStep {
    // A failed Login Response ends the login (§11.13.5; connection.ts closes the connection):
    // nothing learnt before the refusal (a Normal session without its target) may complete one.
    if (this.refused) return this.fail(pdu, LoginStatus.InitiatorError, 'login already refused');
    // After the response that entered full-feature phase there is no login left to step (CSG 3
    // would pass the stage check below).
    if (this.stage === Stage.FullFeature) return this.fail(pdu, LoginStatus.InitiatorError, 'login already complete');
    // Version (§11.12.4): we speak version 0x00 only.
    if (pdu.versionMin > 0) return this.fail(pdu, LoginStatus.UnsupportedVersion, 'unsupported version');
    if (pdu.transit && pdu.cont) return this.fail(pdu, LoginStatus.InitiatorError, 'T and C both set');
    // The first request may skip the security stage (§6.3: CSG=1 when no authentication).
    if (!this.first && pdu.csg === Stage.Operational) this.stage = Stage.Operational;
    if (pdu.csg !== this.stage) {
      return this.fail(pdu, LoginStatus.InitiatorError, `CSG ${pdu.csg} but the current stage is ${this.stage}`);
    }
    if (pdu.transit && (pdu.nsg === 2 || pdu.nsg <= pdu.csg)) return this.fail(pdu, LoginStatus.InitiatorError, `bad NSG ${pdu.nsg}`);
    if (!this.first) this.first = pdu;
    else if (!pdu.isid.equals(this.first.isid) || pdu.tsih !== this.first.tsih || pdu.cid !== this.first.cid || pdu.itt !== this.first.itt) {
      return this.fail(pdu, LoginStatus.InitiatorError, 'ISID/TSIH/CID/ITT changed during login');
    }

    // Text spanning several PDUs (C bit): answer each with an empty response and wait.
    this.partial.push(Buffer.from(pdu.data));
    if (pdu.cont) {
      if (this.partial.reduce((a, b) => a + b.length, 0) > 64 * 1024) return this.fail(pdu, LoginStatus.OutOfResources, 'login text too long');
      return { status: LoginStatus.Success, transit: false, cont: false, csg: this.stage, nsg: 0, keys: [] };
    }
    const text = Buffer.concat(this.partial);
    this.partial = [];
    let offers: TextPairs;
    try {
      offers = parseTextKeys(text);
    } catch (e) {
      return this.fail(pdu, LoginStatus.InitiatorError, `malformed login text: ${(e as Error).message}`);
    }
    const kv = new Map(offers);
    const reply: TextPairs = [];

    if (!this.named) {
      // The first request's text, joined when it came in several pieces (C bit).
      this.named = true;
      // §13.5: InitiatorName is required in the first Login Request (0x0207 when missing). A name
      // that is not an iSCSI name (§4.2.7: at most 223 bytes, iqn./eui./naa.) is an initiator
      // error, 0x0200 (§11.13.5); it is refused before it is stored, compared or logged.
      const who = kv.get('InitiatorName');
      if (!who) return this.fail(pdu, LoginStatus.MissingParameter, 'no InitiatorName');
      const badName = iscsiNameProblem(who);
      if (badName) return this.fail(pdu, LoginStatus.InitiatorError, `InitiatorName is not an iSCSI name: ${badName}`);
      this.initiatorName = who;
      const st = kv.get('SessionType') ?? 'Normal';
      if (st !== 'Normal' && st !== 'Discovery') return this.fail(pdu, LoginStatus.SessionTypeNotSupported, `SessionType ${st}`);
      this.sessionType = st;
      if (st === 'Normal') {
        const tn = kv.get('TargetName');
        if (!tn) return this.fail(pdu, LoginStatus.MissingParameter, 'no TargetName');
        // §13.4, §4.2.7: as for InitiatorName; a well-formed name we do not serve is 0x0203 below.
        const badTarget = iscsiNameProblem(tn);
        if (badTarget) return this.fail(pdu, LoginStatus.InitiatorError, `TargetName is not an iSCSI name: ${badTarget}`);
        const t = this.host.findTarget(tn);
        if (!t) return this.fail(pdu, LoginStatus.NotFound, `no target ${tn}`);
        if (!t.allows(who, this.host.remoteAddress)) {
          return this.fail(pdu, LoginStatus.AuthorizationFailure, `initiator ${who} from ${this.host.remoteAddress} not allowed on ${tn}`);
        }
        this.target = t;
      }
    } else {
      // libiscsi repeats these (same value) in later login PDUs of a discovery session with
      // CHAP; tgt and LIO accept that. A repeated key is harmless when it changes nothing.
      const first: Record<string, string | undefined> = { InitiatorName: this.initiatorName, TargetName: this.target?.iqn, SessionType: this.sessionType };
      for (const k of ['InitiatorName', 'TargetName', 'SessionType']) {
        if (kv.has(k) && kv.get(k) !== first[k]) return this.fail(pdu, LoginStatus.InitiatorError, `${k} changed during login`);
      }
    }
    const needChap = this.sessionType === 'Normal' && this.target?.chap !== undefined;
    if (this.stage === Stage.Operational && needChap && this.auth !== 'done') {
      return this.fail(pdu, LoginStatus.AuthenticationFailure, 'CHAP required but the security stage was skipped');
    }

    // Security stage keys.
    if (this.stage === Stage.Security) {
      const am = kv.get('AuthMethod');
      if (am !== undefined) {
        const offered = am.split(',');
        if (needChap) {
          if (!offered.includes('CHAP')) return this.fail(pdu, LoginStatus.AuthenticationFailure, 'CHAP required', [['AuthMethod', 'Reject']]);
          reply.push(['AuthMethod', 'CHAP']);
          this.auth = 'chap-a';
        } else if (offered.includes('None')) {
          reply.push(['AuthMethod', 'None']);
          this.auth = 'none';
        } else {
          return this.fail(pdu, LoginStatus.AuthenticationFailure, 'no common AuthMethod', [['AuthMethod', 'Reject']]);
        }
      }
      if (kv.has('CHAP_A')) {
        if (this.auth !== 'chap-a') return this.fail(pdu, LoginStatus.InitiatorError, 'CHAP_A out of sequence');
        const algs = kv.get('CHAP_A')!.split(',');
        if (!algs.includes('5')) return this.fail(pdu, LoginStatus.AuthenticationFailure, 'CHAP_A without MD5', [['CHAP_A', 'Reject']]);
        this.chap = new ChapAuthenticator(this.target!.chap!, this.host.random);
        reply.push(...this.chap.challengeKeys());
        this.auth = 'chap-r';
      } else if (kv.has('CHAP_R') || kv.has('CHAP_N')) {
        if (this.auth !== 'chap-r' || !this.chap) return this.fail(pdu, LoginStatus.InitiatorError, 'CHAP_R out of sequence');
        const v = this.chap.verify(kv);
        if (!v.ok) return this.fail(pdu, LoginStatus.AuthenticationFailure, v.reason);
        reply.push(...v.reply);
        this.auth = 'done';
      }
    }

    // Operational keys (accepted in either stage).
    try {
      reply.push(...negotiate(offers, this.params, this.host.limits, this.sessionType, this.declared));
    } catch (e) {
      if (e instanceof NegotiationError) return this.fail(pdu, LoginStatus.InitiatorError, e.message);
      throw e;
    }
    if (this.sessionType === 'Normal' && !this.sentTpgt) {
      reply.push(['TargetPortalGroupTag', '1']);
      this.sentTpgt = true;
    }

    // Stage transition.
    let transit = false;
    let nsg = 0;
    if (pdu.transit) {
      // With CHAP the security stage is left only once the exchange is done (the operational
      // stage is never reached without it: refused above). A transit before the exchange began
      // is refused; one during it (libiscsi sets T throughout) stays in the security stage.
      if (needChap && this.auth !== 'done') {
        if (this.auth === 'unset') return this.fail(pdu, LoginStatus.AuthenticationFailure, 'CHAP required');
      } else {
        transit = true;
        nsg = pdu.nsg;
      }
    }
    const csg = this.stage;
    if (transit && nsg === Stage.FullFeature && !this.declared.mrdsl) {
      // Declare ours even when the initiator did not declare its own (§13.12).
      reply.push(['MaxRecvDataSegmentLength', String(this.host.limits.maxRecvDataSegmentLength)]);
      this.declared.mrdsl = true;
    }
    const step: LoginStep = { status: LoginStatus.Success, transit, cont: false, csg, nsg, keys: reply };
    if (transit) {
      this.stage = nsg;
      if (nsg === Stage.FullFeature) {
        // Ours is declared by now (above, or by negotiate() when the initiator declared its own).
        this.params.targetMaxRecvDataSegmentLength = this.host.limits.maxRecvDataSegmentLength;
        const f = this.first!;
        step.complete = {
          sessionType: this.sessionType,
          initiatorName: this.initiatorName,
          target: this.target,
          isid: Buffer.from(f.isid),
          tsih: f.tsih,
          cid: f.cid,
          cmdSN: f.cmdSN,
          params: { ...this.params },
        };
      }
    }
    return step;
  }

  /** Initiator's CmdSN and ITT of the login, for responses. */
  get firstPdu(): LoginRequestPdu | undefined {
    return this.first;
  }
}
