// Data-In segmentation (RFC 7143 §10.7, §11.7): a command's read data leaves in PDUs of at most
// the initiator's MaxRecvDataSegmentLength, grouped in sequences of at most MaxBurstLength; the
// last PDU of each sequence carries the F bit, DataSN counts PDUs from 0. A PDU never straddles
// a burst boundary. Pure, and allocation-free: a cursor the session walks once per command.
//
//   split.start(total);
//   while (split.next()) send(split.offset, split.length, split.dataSN, split.final, split.last);
//
// One splitter serves a whole session (its limits are fixed at login); it is not reentrant, which
// is fine because the walk is synchronous.

export class DataInSplitter {
  /** The current PDU: where its data starts in the command's data, and how many bytes. */
  offset = 0;
  length = 0;
  /** Its DataSN. */
  dataSN = -1;
  /** The F bit: the last PDU of a sequence (MaxBurstLength reached, or the end of the data). */
  final = false;
  /** The command's last Data-In PDU (the one that may carry the status, §11.7.4). */
  last = false;
  private total = 0;

  /** `maxSegment`: the initiator's MaxRecvDataSegmentLength; `maxBurst`: MaxBurstLength. */
  constructor(
    private readonly maxSegment: number,
    private readonly maxBurst: number,
  ) {}

  /** Begin a command's `total` bytes; `next()` then yields its PDUs. */
  start(total: number): void {
    this.total = total;
    this.offset = 0;
    this.length = 0;
    this.dataSN = -1;
    this.final = false;
    this.last = false;
  }

  /** Move to the next PDU; false when the data is all out. */
  next(): boolean {
    const off = this.offset + this.length;
    if (off >= this.total) return false;
    const n = Math.min(this.maxSegment, this.total - off, this.maxBurst - (off % this.maxBurst));
    this.offset = off;
    this.length = n;
    this.dataSN++;
    this.last = off + n >= this.total;
    this.final = this.last || (off + n) % this.maxBurst === 0;
    return true;
  }

  /** The PDUs produced so far: after the walk, the ExpDataSN of a SCSI Response that follows. */
  get count(): number {
    return this.dataSN + 1;
  }
}
