// A small iSCSI initiator for tests: real TCP, PDUs built and parsed here by hand (it does not
// use src/iscsi's codec, so it checks the target rather than agreeing with it). Login (no
// digests; AuthMethod None or one-way/mutual CHAP), SCSI commands with immediate data, R2T →
// Data-Out, Data-In gathering; plus raw send/receive for the malformed-PDU tests.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RxPdu {
  op: number;
  bhs: Buffer;
  ahs: Buffer;
  data: Buffer;
}

export interface ScsiReply {
  status: number;
  data: Buffer;
  /** Fixed-format sense: key, ASC, ASCQ (undefined without sense data). */
  sense: { key: number; asc: number; ascq: number; raw: Buffer } | undefined;
  residual: { under: boolean; over: boolean; count: number };
}

const text = (pairs: Array<[string, string]>): Buffer => Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''));
export function parseKeys(d: Buffer): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of d.toString('utf8').split('\0')) {
    const i = s.indexOf('=');
    if (i > 0) m.set(s.slice(0, i), s.slice(i + 1));
  }
  return m;
}
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

export class TestInitiator {
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private closedFlag = false;
  private queue: RxPdu[] = [];
  cmdSN = 1;
  expStatSN = 0;
  maxCmdSN = 1;
  private ittSeq = 1;
  /** The session's ISID and the TSIH of the last Login Response. */
  isid: Buffer = Buffer.alloc(6);
  tsih = 0;
  /** Target's MaxRecvDataSegmentLength after login (bounds our Data-Out segments). */
  targetMrdsl = 8192;
  firstBurst = 65536;
  immediateData = true;
  initialR2T = true;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** `localAddress`: the source address to connect from (e.g. 127.0.0.2, a second loopback "host"). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<TestInitiator> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new TestInitiator(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }
  nextItt(): number {
    return this.ittSeq++;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  private parse(): void {
    for (;;) {
      if (this.buf.length < 48) return;
      const ahsLen = this.buf[4]! * 4;
      const dl = this.buf.readUIntBE(5, 3);
      const total = 48 + ahsLen + dl + pad4(dl);
      if (this.buf.length < total) return;
      const whole = Buffer.from(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
      const p: RxPdu = {
        op: whole[0]! & 0x3f,
        bhs: whole.subarray(0, 48),
        ahs: whole.subarray(48, 48 + ahsLen),
        data: whole.subarray(48 + ahsLen, 48 + ahsLen + dl),
      };
      // StatSN / ExpCmdSN / MaxCmdSN of every target PDU that carries them.
      // A target's ping (NOP-In with ITT 0xffffffff) carries the next StatSN without advancing it (§11.19).
      const ping = p.op === 0x20 && p.bhs.readUInt32BE(16) === 0xffffffff;
      if (!ping && (p.op !== 0x25 || p.bhs[1]! & 0x01)) this.expStatSN = (p.bhs.readUInt32BE(24) + 1) >>> 0;
      if (p.op !== 0x23) this.maxCmdSN = p.bhs.readUInt32BE(32);
      this.queue.push(p);
      this.wake();
    }
  }

  /** The next PDU from the target, or null when the connection closed / timeout passed. */
  async recv(timeoutMs = 10_000): Promise<RxPdu | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.queue.shift();
      if (p) return p;
      if (this.closedFlag) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.wakeOrAfter(left);
    }
  }
  /** Resolves true when the target closes the connection within `timeoutMs` (what it sends meanwhile is dropped). */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.queue.length = 0;
      if (this.closedFlag) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.wakeOrAfter(left);
    }
  }
  /** Resolves at the next PDU or close (wake), or after `ms` at the latest. */
  private wakeOrAfter(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  send(...parts: Buffer[]): void {
    if (!this.closedFlag) this.socket.write(Buffer.concat(parts));
  }

  /** BHS helper: opcode byte, flags, data length, ITT; the rest written by the caller. */
  static bhs(op: number, flags: number, dataLength: number, itt: number, ahsWords = 0): Buffer {
    const b = Buffer.alloc(48);
    b[0] = op;
    b[1] = flags;
    b[4] = ahsWords;
    b.writeUIntBE(dataLength, 5, 3);
    b.writeUInt32BE(itt >>> 0, 16);
    return b;
  }
  static withData(bhs: Buffer, data: Buffer): Buffer {
    return Buffer.concat([bhs, data, Buffer.alloc(pad4(data.length))]);
  }

  /**
   * Log in to a normal session (or discovery when `target` is undefined). Returns the final
   * Login Response status class/detail (0/0 on success).
   */
  async login(o: {
    initiator: string;
    target?: string;
    chap?: { user: string; secret: string; mutualUser?: string; mutualSecret?: string };
    extraKeys?: Array<[string, string]>;
    /** An existing session's ISID and TSIH: a login into it (connection reinstatement, §6.3.4). */
    isid?: Buffer;
    tsih?: number;
  }): Promise<{ statusClass: number; statusDetail: number; keys: Map<string, string> }> {
    const isid = o.isid ?? Buffer.concat([Buffer.of(0x80), randomBytes(5)]);
    this.isid = isid;
    const itt = this.nextItt();
    const all = new Map<string, string>();
    const req = (flags: number, keys: Array<[string, string]>): void => {
      const d = text(keys);
      const b = TestInitiator.bhs(0x43, flags, d.length, itt);
      isid.copy(b, 8);
      b.writeUInt16BE(o.tsih ?? 0, 14);
      b.writeUInt32BE(this.cmdSN, 24);
      b.writeUInt32BE(this.expStatSN, 28);
      this.send(TestInitiator.withData(b, d));
    };
    const resp = async (): Promise<{ sc: number; sd: number; flags: number; keys: Map<string, string> }> => {
      const p = await this.recv();
      if (!p) throw new Error('connection closed during login');
      if (p.op !== 0x23) throw new Error(`expected Login Response, got opcode 0x${p.op.toString(16)}`);
      this.expStatSN = (p.bhs.readUInt32BE(24) + 1) >>> 0;
      this.tsih = p.bhs.readUInt16BE(14);
      const keys = parseKeys(p.data);
      for (const [k, v] of keys) all.set(k, v);
      return { sc: p.bhs[36]!, sd: p.bhs[37]!, flags: p.bhs[1]!, keys };
    };
    const op: Array<[string, string]> = [
      ['HeaderDigest', 'None'],
      ['DataDigest', 'None'],
      ['MaxRecvDataSegmentLength', '262144'],
      ...(o.target
        ? ([
            ['InitialR2T', 'No'],
            ['ImmediateData', 'Yes'],
            ['MaxBurstLength', '1048576'],
            ['FirstBurstLength', '262144'],
            ['MaxOutstandingR2T', '1'],
          ] as Array<[string, string]>)
        : []),
      ...(o.extraKeys ?? []),
    ];
    const first: Array<[string, string]> = [
      ['InitiatorName', o.initiator],
      ['SessionType', o.target ? 'Normal' : 'Discovery'],
      ...(o.target ? ([['TargetName', o.target]] as Array<[string, string]>) : []),
    ];
    let r;
    if (o.chap) {
      // Security stage: CSG 0 → NSG 1 with CHAP.
      req(0x81, [...first, ['AuthMethod', 'CHAP,None']]);
      r = await resp();
      if (r.sc !== 0) return { statusClass: r.sc, statusDetail: r.sd, keys: all };
      req(0x01, [['CHAP_A', '5']]);
      r = await resp();
      if (r.sc !== 0) return { statusClass: r.sc, statusDetail: r.sd, keys: all };
      const id = Number(r.keys.get('CHAP_I'));
      const ch = Buffer.from((r.keys.get('CHAP_C') ?? '0x').slice(2), 'hex');
      const resp5 = createHash('md5')
        .update(Buffer.of(id & 0xff))
        .update(o.chap.secret)
        .update(ch)
        .digest();
      const keys: Array<[string, string]> = [
        ['CHAP_N', o.chap.user],
        ['CHAP_R', '0x' + resp5.toString('hex')],
      ];
      const myId = 7;
      const myCh = randomBytes(16);
      if (o.chap.mutualUser) keys.push(['CHAP_I', String(myId)], ['CHAP_C', '0x' + myCh.toString('hex')]);
      req(0x81, keys);
      r = await resp();
      if (r.sc !== 0) return { statusClass: r.sc, statusDetail: r.sd, keys: all };
      if (o.chap.mutualUser) {
        const want = createHash('md5')
          .update(Buffer.of(myId))
          .update(o.chap.mutualSecret ?? '')
          .update(myCh)
          .digest();
        if (r.keys.get('CHAP_N') !== o.chap.mutualUser || r.keys.get('CHAP_R') !== '0x' + want.toString('hex')) {
          throw new Error('target failed mutual CHAP');
        }
      }
      // Operational stage → full feature.
      for (let i = 0; i < 8 && (r.flags & 0x80) === 0; i++) {
        req(0x81, []);
        r = await resp();
        if (r.sc !== 0) return { statusClass: r.sc, statusDetail: r.sd, keys: all };
      }
      req(0x87, op);
    } else {
      req(0x87, [...first, ...op]);
    }
    r = await resp();
    for (let i = 0; i < 8 && r.sc === 0 && ((r.flags & 0x80) === 0 || (r.flags & 0x03) !== 3); i++) {
      req(0x87, []);
      r = await resp();
    }
    if (r.sc === 0) {
      this.targetMrdsl = Number(all.get('MaxRecvDataSegmentLength') ?? 8192);
      this.firstBurst = Number(all.get('FirstBurstLength') ?? 65536);
      this.immediateData = (all.get('ImmediateData') ?? 'Yes') === 'Yes';
      this.initialR2T = (all.get('InitialR2T') ?? 'Yes') === 'Yes';
      this.maxCmdSN = this.cmdSN; // updated by the first full-feature PDU
    }
    return { statusClass: r.sc, statusDetail: r.sd, keys: all };
  }

  /** A SCSI Command BHS for `cdb` (≤ 16 bytes) on `lun` (peripheral addressing, < 256). */
  commandBhs(o: {
    cdb: Buffer;
    lun?: number;
    itt: number;
    edtl: number;
    read: boolean;
    write: boolean;
    immediateLength?: number;
    final?: boolean;
    cmdSN?: number;
  }): Buffer {
    const b = TestInitiator.bhs(0x01, (o.final === false ? 0 : 0x80) | (o.read ? 0x40 : 0) | (o.write ? 0x20 : 0) | 0x01, o.immediateLength ?? 0, o.itt);
    b[9] = o.lun ?? 0;
    b.writeUInt32BE(o.edtl >>> 0, 20);
    b.writeUInt32BE((o.cmdSN ?? this.cmdSN) >>> 0, 24);
    b.writeUInt32BE(this.expStatSN >>> 0, 28);
    o.cdb.copy(b, 32, 0, Math.min(16, o.cdb.length));
    return b;
  }
  dataOut(itt: number, ttt: number, dataSN: number, offset: number, data: Buffer, final: boolean, lun = 0): Buffer {
    const b = TestInitiator.bhs(0x05, final ? 0x80 : 0, data.length, itt);
    b[9] = lun;
    b.writeUInt32BE(ttt >>> 0, 20);
    b.writeUInt32BE(this.expStatSN >>> 0, 28);
    b.writeUInt32BE(dataSN >>> 0, 36);
    b.writeUInt32BE(offset >>> 0, 40);
    return TestInitiator.withData(b, data);
  }

  /** Run one SCSI command to completion. `readLength` > 0 for Data-In, `write` for Data-Out. */
  async scsi(cdb: Buffer, o: { lun?: number; readLength?: number; write?: Buffer; edtl?: number; timeoutMs?: number } = {}): Promise<ScsiReply> {
    const itt = this.nextItt();
    const w = o.write ?? Buffer.alloc(0);
    const edtl = o.edtl ?? (o.write ? w.length : (o.readLength ?? 0));
    const writing = w.length > 0;
    const imm = writing && this.immediateData ? Math.min(w.length, this.targetMrdsl, this.firstBurst, edtl) : 0;
    const bhs = this.commandBhs({ cdb, lun: o.lun, itt, edtl, read: (o.readLength ?? 0) > 0, write: writing, immediateLength: imm });
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    this.send(TestInitiator.withData(bhs, w.subarray(0, imm)));
    // Unsolicited Data-Out after immediate data (InitialR2T=No), up to FirstBurstLength.
    let sent = imm;
    if (writing && !this.initialR2T) {
      let dsn = 0;
      const lim = Math.min(this.firstBurst, edtl, w.length);
      while (sent < lim) {
        const n = Math.min(this.targetMrdsl, lim - sent);
        this.send(this.dataOut(itt, 0xffffffff, dsn++, sent, w.subarray(sent, sent + n), sent + n >= lim, o.lun));
        sent += n;
      }
    }
    const chunks: Array<{ off: number; d: Buffer }> = [];
    for (;;) {
      const p = await this.recv(o.timeoutMs ?? 20_000);
      if (!p) throw new Error(`no response to 0x${cdb[0]!.toString(16)} (connection ${this.closedFlag ? 'closed' : 'silent'})`);
      if (p.bhs.readUInt32BE(16) !== itt) {
        if (p.op === 0x20 && p.bhs.readUInt32BE(20) !== 0xffffffff) this.nopReply(p);
        continue;
      }
      if (p.op === 0x31) {
        // R2T: send the requested range in MRDSL-sized Data-Out PDUs.
        const ttt = p.bhs.readUInt32BE(20);
        const off = p.bhs.readUInt32BE(40);
        const len = p.bhs.readUInt32BE(44);
        let dsn = 0;
        for (let at = off; at < off + len; ) {
          const n = Math.min(this.targetMrdsl, off + len - at);
          const slice = w.subarray(at, at + n);
          this.send(
            this.dataOut(itt, ttt, dsn++, at, slice.length === n ? slice : Buffer.concat([slice, Buffer.alloc(n - slice.length)]), at + n >= off + len, o.lun),
          );
          at += n;
        }
      } else if (p.op === 0x25) {
        chunks.push({ off: p.bhs.readUInt32BE(40), d: p.data });
        if (p.bhs[1]! & 0x01) return this.reply(p.bhs[3]!, chunks, p.bhs, Buffer.alloc(0));
      } else if (p.op === 0x21) {
        const senseData = p.data.length >= 2 ? p.data.subarray(2, 2 + p.data.readUInt16BE(0)) : Buffer.alloc(0);
        return this.reply(p.bhs[3]!, chunks, p.bhs, senseData);
      } else {
        throw new Error(`unexpected opcode 0x${p.op.toString(16)} for ITT ${itt}`);
      }
    }
  }

  private reply(status: number, chunks: Array<{ off: number; d: Buffer }>, bhs: Buffer, sense: Buffer): ScsiReply {
    const end = chunks.reduce((a, c) => Math.max(a, c.off + c.d.length), 0);
    const data = Buffer.alloc(end);
    for (const c of chunks) c.d.copy(data, c.off);
    let s: ScsiReply['sense'];
    if (sense.length >= 14 && (sense[0]! & 0x7f) >= 0x70 && (sense[0]! & 0x7f) <= 0x71)
      s = { key: sense[2]! & 0x0f, asc: sense[12]!, ascq: sense[13]!, raw: sense };
    else if (sense.length >= 4 && (sense[0]! & 0x7f) >= 0x72) s = { key: sense[1]! & 0x0f, asc: sense[2]!, ascq: sense[3]!, raw: sense };
    return { status, data, sense: s, residual: { under: (bhs[1]! & 0x02) !== 0, over: (bhs[1]! & 0x04) !== 0, count: bhs.readUInt32BE(44) } };
  }

  /** Answers a target's NOP-In ping: NOP-Out, immediate, ITT reserved, its TTT echoed. */
  nopReply(nopIn: RxPdu): void {
    const b = TestInitiator.bhs(0x40, 0x80, 0, 0xffffffff);
    b.writeUInt32BE(nopIn.bhs.readUInt32BE(20), 20);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b);
  }

  /** An immediate NOP-Out with a valid ITT (§11.18); resolves true when its NOP-In comes back. */
  async nop(timeoutMs = 5000): Promise<boolean> {
    const itt = this.nextItt();
    const b = TestInitiator.bhs(0x40, 0x80, 0, itt);
    b.writeUInt32BE(0xffffffff, 20);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b);
    for (;;) {
      const p = await this.recv(timeoutMs);
      if (!p) return false;
      if (p.op === 0x20 && p.bhs.readUInt32BE(16) === itt) return true;
    }
  }

  async logout(): Promise<void> {
    const b = TestInitiator.bhs(0x46, 0x80, 0, this.nextItt());
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b);
    await this.recv(5000);
    this.close();
  }
  close(): void {
    this.socket.destroy();
  }
}

/** CDB builders. */
export const cdb = {
  tur: (): Buffer => Buffer.alloc(6),
  inquiry: (alloc: number, evpd?: number): Buffer => Buffer.from([0x12, evpd === undefined ? 0 : 1, evpd ?? 0, (alloc >> 8) & 0xff, alloc & 0xff, 0]),
  readCapacity10: (): Buffer => Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  readCapacity16: (alloc = 32): Buffer => {
    const b = Buffer.alloc(16);
    b[0] = 0x9e;
    b[1] = 0x10;
    b.writeUInt32BE(alloc, 10);
    return b;
  },
  rw10: (op: 0x28 | 0x2a, lba: number, blocks: number, fua = false): Buffer => {
    const b = Buffer.alloc(10);
    b[0] = op;
    b[1] = fua ? 0x08 : 0;
    b.writeUInt32BE(lba >>> 0, 2);
    b.writeUInt16BE(blocks, 7);
    return b;
  },
  rw16: (op: 0x88 | 0x8a, lba: bigint, blocks: number, fua = false): Buffer => {
    const b = Buffer.alloc(16);
    b[0] = op;
    b[1] = fua ? 0x08 : 0;
    b.writeBigUInt64BE(lba, 2);
    b.writeUInt32BE(blocks >>> 0, 10);
    return b;
  },
  syncCache10: (): Buffer => Buffer.from([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
};
