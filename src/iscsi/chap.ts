// CHAP with MD5 (RFC 1994 §4.1, RFC 7143 §12.1.3) for the iSCSI security negotiation stage.
//   response = MD5(identifier byte || secret || challenge)
// One-way: the target challenges, the initiator answers with CHAP_N/CHAP_R. Mutual: the
// initiator also sends CHAP_I/CHAP_C and the target answers with its own CHAP_N/CHAP_R.
// Secrets are compared in constant time and are never put in an error message or log line.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseBinary } from './text-keys.js';

export const CHAP_MD5 = 5;
export const CHALLENGE_LENGTH = 16;

export function chapResponse(id: number, secret: string | Buffer, challenge: Buffer): Buffer {
  const h = createHash('md5');
  h.update(Buffer.of(id & 0xff));
  h.update(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  h.update(challenge);
  return h.digest();
}

export function hex(b: Buffer): string {
  return '0x' + b.toString('hex');
}

export interface ChapCredentials {
  user: string;
  secret: string;
  mutualUser?: string;
  mutualSecret?: string;
}

/** The target's side of one CHAP exchange. */
export class ChapAuthenticator {
  readonly id: number;
  readonly challenge: Buffer;

  constructor(
    private readonly creds: ChapCredentials,
    rnd: (n: number) => Buffer = randomBytes,
  ) {
    this.id = rnd(1)[0]!;
    this.challenge = rnd(CHALLENGE_LENGTH);
  }

  /** The target's challenge keys, sent after the initiator's CHAP_A. */
  challengeKeys(): Array<[string, string]> {
    return [
      ['CHAP_A', String(CHAP_MD5)],
      ['CHAP_I', String(this.id)],
      ['CHAP_C', hex(this.challenge)],
    ];
  }

  /**
   * Check the initiator's answer. Returns the keys to send back (mutual CHAP) or a reason
   * string for the failure (for counting/logging; it never contains a secret).
   */
  verify(keys: Map<string, string>): { ok: true; reply: Array<[string, string]> } | { ok: false; reason: string } {
    const name = keys.get('CHAP_N');
    const r = keys.get('CHAP_R');
    if (name === undefined || r === undefined) return { ok: false, reason: 'CHAP_N/CHAP_R missing' };
    const got = parseBinary(r);
    if (!got) return { ok: false, reason: 'CHAP_R is not a binary value' };
    const want = chapResponse(this.id, this.creds.secret, this.challenge);
    const nameOk = safeEqualString(name, this.creds.user);
    const respOk = got.length === want.length && timingSafeEqual(got, want);
    if (!nameOk || !respOk) return { ok: false, reason: nameOk ? 'wrong CHAP response' : 'unknown CHAP user' };

    const ci = keys.get('CHAP_I');
    const cc = keys.get('CHAP_C');
    if (ci === undefined && cc === undefined) {
      if (this.creds.mutualSecret !== undefined) return { ok: false, reason: 'mutual CHAP required but not requested' };
      return { ok: true, reply: [] };
    }
    if (ci === undefined || cc === undefined) return { ok: false, reason: 'CHAP_I without CHAP_C (or the reverse)' };
    if (this.creds.mutualSecret === undefined || this.creds.mutualUser === undefined) {
      return { ok: false, reason: 'mutual CHAP requested but not configured' };
    }
    if (!/^[0-9]{1,3}$/.test(ci) || Number(ci) > 255) return { ok: false, reason: 'bad CHAP_I' };
    const challenge = parseBinary(cc);
    if (!challenge || challenge.length < 1 || challenge.length > 1024) return { ok: false, reason: 'bad CHAP_C' };
    // RFC 7143 §12.1.3: a target MUST NOT answer its own challenge (reflection attack), and the
    // two secrets must differ, or an attacker could replay one direction as the other.
    if (challenge.equals(this.challenge)) return { ok: false, reason: 'initiator reflected our challenge' };
    if (this.creds.mutualSecret === this.creds.secret) return { ok: false, reason: 'mutual secret equals the initiator secret' };
    const resp = chapResponse(Number(ci), this.creds.mutualSecret, challenge);
    return {
      ok: true,
      reply: [
        ['CHAP_N', this.creds.mutualUser],
        ['CHAP_R', hex(resp)],
      ],
    };
  }
}

function safeEqualString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(y, y);
    return false;
  }
  return timingSafeEqual(x, y);
}
