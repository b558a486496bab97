// Text requests in full-feature phase (RFC 7143 §11.10, §11.11, appendix C): SendTargets, the
// only key a target must answer there, and the continuation of a response longer than the
// initiator's MaxRecvDataSegmentLength (§11.11.1: the initiator sends empty requests carrying
// our Target Transfer Tag until the F bit). Every other key is answered NotUnderstood. Pure: the
// session sends the answer and allocates the tags; the portal lists the targets.
import { RESERVED_TAG, type TextRequestPdu } from './pdu.js';
import { encodeTextKeys, parseTextKeys, type TextPairs } from './text-keys.js';

/** What to send for a Text Request: a (possibly partial) Text Response, or a Reject. */
export type TextAnswer =
  | { kind: 'reply'; body: Buffer; ttt: number; more: boolean }
  /** Protocol error (§11.17.1 reason 0x04); `malformed` when the keys could not be parsed. */
  | { kind: 'reject'; malformed: boolean };

export class TextExchange {
  /** The rest of a long response, sent when the initiator continues with this TTT. */
  private pending: { itt: number; ttt: number; rest: Buffer } | undefined;

  /**
   * `type` and `iqn`: the session's kind and, for a normal session, its target; `maxSegment`:
   * the initiator's MaxRecvDataSegmentLength; `allocTtt`: the session's tag allocator.
   */
  constructor(
    private readonly type: 'Normal' | 'Discovery',
    private readonly iqn: string | undefined,
    private readonly maxSegment: number,
    private readonly allocTtt: () => number,
  ) {}

  /** Answer one request; `targets(which)` lists the targets this initiator may see ('All' or a name). */
  answer(pdu: Pick<TextRequestPdu, 'itt' | 'ttt' | 'cont' | 'data'>, targets: (which: string) => TextPairs): TextAnswer {
    // Continuation of a long response (§11.11.1: empty request with our TTT).
    if (pdu.ttt !== RESERVED_TAG) {
      if (this.pending && this.pending.ttt === pdu.ttt) return this.chunk(pdu.itt, this.pending.rest);
      return { kind: 'reject', malformed: false };
    }
    this.pending = undefined;
    // Multi-PDU text requests are not expected for SendTargets; refuse them cleanly.
    if (pdu.cont) return { kind: 'reject', malformed: false };
    let keys: TextPairs;
    try {
      keys = parseTextKeys(pdu.data);
    } catch {
      return { kind: 'reject', malformed: true };
    }
    const out: TextPairs = [];
    for (const [k, v] of keys) {
      if (k === 'SendTargets') {
        // In a normal session only the session's own target may be reported (§11.10).
        const which = this.type === 'Normal' ? (v === 'All' || v === '' ? (this.iqn ?? '') : v) : v;
        if (this.type === 'Normal' && which !== this.iqn) continue;
        out.push(...targets(which));
      } else {
        out.push([k, 'NotUnderstood']);
      }
    }
    return this.chunk(pdu.itt, encodeTextKeys(out));
  }

  /** Forget a response in progress (connection reinstatement). */
  reset(): void {
    this.pending = undefined;
  }

  private chunk(itt: number, all: Buffer): TextAnswer {
    if (all.length <= this.maxSegment) {
      this.pending = undefined;
      return { kind: 'reply', body: all, ttt: RESERVED_TAG, more: false };
    }
    const ttt = this.allocTtt();
    this.pending = { itt, ttt, rest: all.subarray(this.maxSegment) };
    return { kind: 'reply', body: all.subarray(0, this.maxSegment), ttt, more: true };
  }
}
