// The heartbeat of a running `netroot serve` (issue #21): it registers the server in the store's
// `servers` table at start, refreshes the row every servers.heartbeatSeconds and removes it at a
// clean stop (a killed server's row stays and turns stale). The store stamps every beat with the
// DATABASE's clock, so this process's clock plays no part: a server whose clock is off is still
// listed live. A failed beat (database unreachable) is logged and retried at the next tick; it
// never stops the server.
import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from '../log/logger.js';
import type { ServerInfo, ServerRepo } from '../store/index.js';

/** This machine's IPv4 addresses that are not loopback, after `first` (the frontend's provisioning address). */
export function serverAddresses(first: string): string[] {
  const out = first ? [first] : [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !out.includes(a.address)) out.push(a.address);
  }
  return out;
}

export class Heartbeat {
  readonly info: ServerInfo;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly servers: ServerRepo,
    info: Omit<ServerInfo, 'id'>,
    private readonly everySeconds: number,
    private readonly logger: Logger,
  ) {
    this.info = { id: randomUUID(), ...info, hostName: info.hostName || hostname() };
  }

  /** Registers this server (the first beat must succeed: the store was reachable at start) and starts beating. */
  async start(): Promise<void> {
    await this.servers.beat(this.info);
    this.timer = setInterval(() => void this.tick(), this.everySeconds * 1000);
    this.timer.unref();
  }

  private tick(): Promise<void> {
    // One beat at a time: a slow database does not pile beats up.
    this.beating ??= this.servers
      .beat(this.info)
      .then(
        () => {
          if (this.failing) this.logger.info('heartbeat written again', { server: this.info.id });
          this.failing = false;
        },
        (e: unknown) => {
          if (!this.failing) this.logger.warn('heartbeat not written; retrying', { server: this.info.id, error: e });
          this.failing = true;
        },
      )
      .finally(() => (this.beating = undefined));
    return this.beating;
  }

  /** Stops beating and removes this server's row (best effort: a database that is gone leaves it to turn stale). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.servers.remove(this.info.id).catch((e: unknown) => this.logger.warn('server row not removed', { server: this.info.id, error: e }));
  }
}
