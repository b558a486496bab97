// What both transfer links (link.ts native, dgram-link.ts) share around their data phase: the
// transfer's callbacks, the open flag, and turning "the window from block N waits for bytes" from
// start()/provide() into onNeed. A subclass says how to start, provide, read the state, send, shut.
import type { LinkKind, LinkState, PhaseParams, TransferLink } from './link-contract.js';

export abstract class LinkBase implements TransferLink {
  abstract readonly kind: LinkKind;
  onNeed: (block: number) => void = () => {};
  onEnd: (completed: boolean) => void = () => {};
  onMessage: (msg: Buffer) => void = () => {};
  protected open = true;

  constructor(readonly localPort: number) {}

  /** Returns the first block of a window still waiting for bytes (0: none). */
  protected abstract provideBytes(offset: number, data: Buffer): number;
  /** Returns the first block of a window waiting for bytes (0: none). */
  protected abstract startPhase(p: PhaseParams): number;
  /** Ends the phase and lets go of the socket (called once). */
  protected abstract shut(): void;
  abstract state(): LinkState;
  abstract send(packet: Buffer): void;

  provide(offset: number, data: Buffer): void {
    if (!this.open) return;
    const need = this.provideBytes(offset, data);
    if (need) this.onNeed(need);
  }

  start(p: PhaseParams): void {
    if (!this.open) return;
    const need = this.startPhase(p);
    if (need) this.onNeed(need);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.shut();
  }
}
