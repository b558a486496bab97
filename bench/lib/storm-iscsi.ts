// The iSCSI side of bench:attack's virtual nodes: what a diskless node's initrd does before it
// mounts its root — TCP from the node's own address, a Normal-session login with one-way CHAP
// (RFC 7143 §6.3, §12.1; RFC 1994 MD5), READ CAPACITY(10), then READ(10) of the first MiB — and
// the session then stays logged in (a booted node keeps its root session) until the storm ends.
// PDUs are built and parsed here by hand, from RFC 7143 §11, not with src/iscsi's codec (that
// codec is the target's: it decodes initiator PDUs and encodes target ones).
// Why not test/iscsi/helpers/initiator.ts (TestInitiator): bench/ may import src/ and
// test/helpers/ only, and that initiator cannot choose its source address, which a storm of nodes
// with one address each needs (the target and the attack defences may count per source).
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

interface Pdu {
  op: number;
  bhs: Buffer;
  data: Buffer;
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;
const keys = (pairs: Array<[string, string]>): Buffer => Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''));
function parseKeys(d: Buffer): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of d.toString('utf8').split('\0')) {
    const i = s.indexOf('=');
    if (i > 0) m.set(s.slice(0, i), s.slice(i + 1));
  }
  return m;
}

export interface IscsiLogin {
  initiator: string;
  target: string;
  user: string;
  secret: string;
}

export class StormInitiator {
  private chunks: Buffer[] = [];
  private have = 0;
  private queue: Pdu[] = [];
  private wakeUp: (() => void) | null = null;
  private closed = false;
  private cmdSN = 1;
  private expStatSN = 0;
  private itt = 1;
  /** Target NOP-In pings answered (iscsi.pingIdleSeconds). */
  pings = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly signal: AbortSignal,
    /** The LUN every command addresses (single-level, SAM-5 §4.7.3 peripheral addressing). */
    private readonly lun: number,
  ) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.have += d.length;
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    signal.addEventListener('abort', () => socket.destroy(), { once: true });
  }

  static connect(host: string, port: number, localAddress: string, signal: AbortSignal, lun = 0): Promise<StormInitiator> {
    if (!Number.isInteger(lun) || lun < 0 || lun > 255) throw new Error(`iscsi: LUN ${lun} is not a single-level LUN (0–255)`);
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress }, () => {
        s.off('error', onError);
        s.setNoDelay(true);
        resolve(new StormInitiator(s, signal, lun));
      });
      const onError = (e: Error): void => reject(new Error(`iscsi connect ${host}:${port}: ${e.message}`));
      s.once('error', onError);
      signal.addEventListener('abort', () => s.destroy(new Error('aborted')), { once: true });
    });
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.have -= n;
    return out;
  }

  private peekHeader(): Buffer {
    if (this.chunks[0]!.length >= 48) return this.chunks[0]!;
    const h = this.take(48);
    this.chunks.unshift(h);
    this.have += 48;
    return h;
  }

  private parse(): void {
    while (this.have >= 48) {
      const h = this.peekHeader();
      const ahs = h[4]! * 4;
      const dl = h.readUIntBE(5, 3);
      const total = 48 + ahs + dl + pad4(dl);
      if (this.have < total) return;
      const whole = this.take(total);
      const p: Pdu = { op: whole[0]! & 0x3f, bhs: whole.subarray(0, 48), data: whole.subarray(48 + ahs, 48 + ahs + dl) };
      const ping = p.op === 0x20 && p.bhs.readUInt32BE(16) === 0xffffffff;
      if (ping) {
        // A target's ping (§11.19): answer at once, whatever the node is doing.
        if (p.bhs.readUInt32BE(20) !== 0xffffffff) this.nopOut(p.bhs.readUInt32BE(20));
        continue;
      }
      // StatSN of every PDU that carries one (Data-In only with the S bit).
      if (p.op !== 0x25 || p.bhs[1]! & 0x01) this.expStatSN = (p.bhs.readUInt32BE(24) + 1) >>> 0;
      this.queue.push(p);
      this.wake();
    }
  }

  private async recv(): Promise<Pdu> {
    for (;;) {
      const p = this.queue.shift();
      if (p) return p;
      if (this.closed) throw new Error(this.signal.aborted ? 'iscsi: aborted' : 'iscsi: the target closed the connection');
      await new Promise<void>((r) => (this.wakeUp = r));
    }
  }

  private send(b: Buffer): void {
    if (!this.closed) this.socket.write(b);
  }

  private static bhs(byte0: number, flags: number, dataLength: number, itt: number): Buffer {
    const b = Buffer.alloc(48);
    b[0] = byte0;
    b[1] = flags;
    b.writeUIntBE(dataLength, 5, 3);
    b.writeUInt32BE(itt >>> 0, 16);
    return b;
  }

  private nopOut(ttt: number): void {
    this.pings++;
    const b = StormInitiator.bhs(0x40, 0x80, 0, 0xffffffff);
    b.writeUInt32BE(ttt, 20);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    this.send(b);
  }

  /** Login into a Normal session with one-way CHAP; throws with the status on a refusal. */
  async login(o: IscsiLogin): Promise<void> {
    const isid = Buffer.concat([Buffer.of(0x80), randomBytes(5)]);
    const itt = this.itt++;
    const req = (flags: number, pairs: Array<[string, string]>): void => {
      const d = keys(pairs);
      const b = StormInitiator.bhs(0x43, flags, d.length, itt);
      isid.copy(b, 8);
      b.writeUInt32BE(this.cmdSN, 24);
      b.writeUInt32BE(this.expStatSN, 28);
      this.send(Buffer.concat([b, d, Buffer.alloc(pad4(d.length))]));
    };
    const resp = async (step: string): Promise<{ flags: number; keys: Map<string, string> }> => {
      const p = await this.recv();
      if (p.op !== 0x23) throw new Error(`iscsi login (${step}): expected a Login Response, got opcode 0x${p.op.toString(16)}`);
      const sc = p.bhs[36]!;
      const sd = p.bhs[37]!;
      if (sc !== 0) throw new Error(`iscsi login (${step}): refused, status class ${sc} detail ${sd}`);
      return { flags: p.bhs[1]!, keys: parseKeys(p.data) };
    };
    // Security stage (CSG 0 → NSG 1), as open-iscsi/iscsistart with CHAP configured.
    req(0x81, [
      ['InitiatorName', o.initiator],
      ['SessionType', 'Normal'],
      ['TargetName', o.target],
      ['AuthMethod', 'CHAP'],
    ]);
    let r = await resp('AuthMethod');
    if (r.keys.get('AuthMethod') !== 'CHAP') throw new Error(`iscsi login: target chose AuthMethod=${r.keys.get('AuthMethod')}`);
    req(0x01, [['CHAP_A', '5']]);
    r = await resp('CHAP_A');
    const id = Number(r.keys.get('CHAP_I'));
    const challenge = Buffer.from((r.keys.get('CHAP_C') ?? '0x').slice(2), 'hex');
    const answer = createHash('md5')
      .update(Buffer.of(id & 0xff))
      .update(o.secret)
      .update(challenge)
      .digest();
    req(0x81, [
      ['CHAP_N', o.user],
      ['CHAP_R', '0x' + answer.toString('hex')],
    ]);
    r = await resp('CHAP_R');
    for (let i = 0; i < 4 && (r.flags & 0x80) === 0; i++) {
      req(0x81, []);
      r = await resp('security');
    }
    // Operational stage (CSG 1 → NSG 3, full feature phase).
    req(0x87, [
      ['HeaderDigest', 'None'],
      ['DataDigest', 'None'],
      ['MaxRecvDataSegmentLength', '262144'],
      ['InitialR2T', 'Yes'],
      ['ImmediateData', 'Yes'],
      ['MaxBurstLength', '262144'],
      ['FirstBurstLength', '65536'],
    ]);
    r = await resp('operational');
    for (let i = 0; i < 4 && ((r.flags & 0x80) === 0 || (r.flags & 0x03) !== 3); i++) {
      req(0x87, []);
      r = await resp('operational');
    }
    if ((r.flags & 0x03) !== 3) throw new Error('iscsi login: the target never moved to full feature phase');
  }

  /**
   * One read command (READ CAPACITY or READ): Data-In gathered by offset, status checked. A CHECK
   * CONDITION with sense key UNIT ATTENTION (tgt reports one on the first command of a new I_T
   * nexus: SPC-4 §6.1, power on/reset) is retried, as every initiator's SCSI layer does, twice.
   */
  private async read(cdb: Buffer, length: number): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.readOnce(cdb, length);
      if (r !== 'unit attention') return r;
      if (attempt >= 2) throw new Error(`iscsi: UNIT ATTENTION ${attempt + 1} times for opcode 0x${cdb[0]!.toString(16)}`);
    }
  }

  private async readOnce(cdb: Buffer, length: number): Promise<Buffer | 'unit attention'> {
    const itt = this.itt++;
    const b = StormInitiator.bhs(0x01, 0x80 | 0x40 | 0x01, 0, itt);
    b[9] = this.lun; // LUN field, bytes 8–15: peripheral device addressing, bus 0
    b.writeUInt32BE(length, 20);
    b.writeUInt32BE(this.cmdSN, 24);
    b.writeUInt32BE(this.expStatSN, 28);
    cdb.copy(b, 32);
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    this.send(b);
    const out = Buffer.alloc(length);
    let got = 0;
    for (;;) {
      const p = await this.recv();
      if (p.bhs.readUInt32BE(16) !== itt) continue;
      if (p.op === 0x25) {
        const off = p.bhs.readUInt32BE(40);
        p.data.copy(out, off);
        got += p.data.length;
        if (p.bhs[1]! & 0x01) {
          if (p.bhs[3] !== 0) throw new Error(`iscsi: SCSI status 0x${p.bhs[3]!.toString(16)} for opcode 0x${cdb[0]!.toString(16)}`);
          return out.subarray(0, got);
        }
      } else if (p.op === 0x21) {
        // Sense data (§11.4.7.2): SenseLength (2 bytes), then fixed-format sense, key in byte 2.
        if (p.bhs[2] === 0 && p.bhs[3] === 0x02 && p.data.length >= 5 && (p.data[4]! & 0x0f) === 0x06) return 'unit attention';
        if (p.bhs[2] !== 0 || p.bhs[3] !== 0)
          throw new Error(`iscsi: response 0x${p.bhs[2]!.toString(16)} status 0x${p.bhs[3]!.toString(16)} for opcode 0x${cdb[0]!.toString(16)}`);
        return out.subarray(0, got);
      } else throw new Error(`iscsi: unexpected opcode 0x${p.op.toString(16)}`);
    }
  }

  /** READ CAPACITY(10): the logical block length. */
  async blockLength(): Promise<number> {
    const d = await this.read(Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 8);
    if (d.length < 8) throw new Error(`iscsi: READ CAPACITY returned ${d.length} bytes`);
    return d.readUInt32BE(4);
  }

  /** READ(10) of `bytes` from LBA 0. */
  async readStart(bytes: number, blockLength: number): Promise<Buffer> {
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x28;
    cdb.writeUInt16BE(Math.ceil(bytes / blockLength), 7);
    const d = await this.read(cdb, bytes);
    if (d.length !== bytes) throw new Error(`iscsi: READ returned ${d.length} of ${bytes} bytes`);
    return d;
  }

  /** READ(10) of `blocks` blocks from `lba` (bench:golden's whole-boot reads); the bytes returned. */
  async readAt(lba: number, blocks: number, blockLength: number): Promise<number> {
    if (!Number.isInteger(lba) || lba < 0 || lba > 0xffffffff || !Number.isInteger(blocks) || blocks < 1 || blocks > 0xffff)
      throw new Error(`iscsi: READ(10) of ${blocks} blocks at LBA ${lba} does not fit its CDB`);
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x28;
    cdb.writeUInt32BE(lba, 2);
    cdb.writeUInt16BE(blocks, 7);
    const d = await this.read(cdb, blocks * blockLength);
    if (d.length !== blocks * blockLength) throw new Error(`iscsi: READ at LBA ${lba} returned ${d.length} of ${blocks * blockLength} bytes`);
    return d.length;
  }

  /** Logout (close the session), bounded to 5 s; the socket is destroyed either way. */
  async logout(): Promise<void> {
    if (!this.closed) {
      const b = StormInitiator.bhs(0x46, 0x80, 0, this.itt++);
      b.writeUInt32BE(this.cmdSN, 24);
      b.writeUInt32BE(this.expStatSN, 28);
      this.send(b);
      await Promise.race([this.recv().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
