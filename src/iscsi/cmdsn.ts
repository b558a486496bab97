// Command numbering (RFC 7143 §4.2.2.1, §3.2.2.1): the session's CmdSN window and the commands
// held until the gap before them fills. Pure: no sockets, no timers; the session counts and logs
// what `ordered` reports.

/** Commands the initiator may have outstanding (MaxCmdSN − ExpCmdSN + 1). */
export const CMD_WINDOW = 128;

/** RFC 1982 serial arithmetic on 32-bit sequence numbers. */
export function snLess(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}
export function snInWindow(sn: number, lo: number, hi: number): boolean {
  return (sn - lo) >>> 0 <= (hi - lo) >>> 0;
}

/** What `ordered` did with a PDU: ran it (and maybe released held ones), held it, or dropped it. */
export type Ordering = 'ran' | 'held' | 'dropped';

export class CommandWindow {
  private exp: number;
  private maxCmdSNv: number;
  /** Non-immediate PDUs ahead of ExpCmdSN, by CmdSN; each runs once the gap before it fills. */
  private readonly held = new Map<number, () => void>();

  /** `active` counts the session's tasks: the window shrinks while many are outstanding. */
  constructor(
    cmdSN: number,
    private readonly active: () => number,
  ) {
    this.exp = cmdSN >>> 0;
    this.maxCmdSNv = (this.exp + CMD_WINDOW - 1) >>> 0;
  }

  /** ExpCmdSN: the next CmdSN to run. */
  get expCmdSN(): number {
    return this.exp;
  }

  /** MaxCmdSN: the window shrinks while many tasks are active, and never moves backwards. */
  get maxCmdSN(): number {
    const free = Math.max(1, CMD_WINDOW - this.active());
    const want = (this.exp + free - 1) >>> 0;
    if (snLess(this.maxCmdSNv, want)) this.maxCmdSNv = want;
    return this.maxCmdSNv;
  }

  /**
   * CmdSN ordering (§4.2.2.1). Immediate PDUs run now. Others run when their CmdSN is the
   * expected one; a CmdSN ahead of it but inside the window waits for the gap to fill; one
   * outside [ExpCmdSN, MaxCmdSN] (or a second PDU for a held CmdSN) is silently ignored, as the
   * RFC requires.
   */
  ordered(immediate: boolean, cmdSN: number, run: () => void): Ordering {
    if (immediate) {
      run();
      return 'ran';
    }
    if (cmdSN === this.exp) {
      this.exp = (this.exp + 1) >>> 0;
      run();
      for (let next = this.held.get(this.exp); next; next = this.held.get(this.exp)) {
        this.held.delete(this.exp);
        this.exp = (this.exp + 1) >>> 0;
        next();
      }
      return 'ran';
    }
    if (snInWindow(cmdSN, this.exp, this.maxCmdSN) && !this.held.has(cmdSN)) {
      this.held.set(cmdSN, run);
      return 'held';
    }
    return 'dropped';
  }

  /** Forget the held PDUs (the connection is gone). */
  clear(): void {
    this.held.clear();
  }

  /** Restart the window at `cmdSN` (connection reinstatement: the CmdSN of the new login). */
  restart(cmdSN: number): void {
    this.held.clear();
    this.exp = cmdSN >>> 0;
    this.maxCmdSNv = (this.exp + CMD_WINDOW - 1) >>> 0;
  }
}
