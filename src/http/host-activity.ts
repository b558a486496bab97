// What the dashboard's host table shows besides the host record: each host's last event and its
// power state (the detail of its latest `power` event: {action, pxe, ok, state?, code?, message?},
// src/power). Kept in memory and brought up to date on demand by reading only the events appended
// since the last read (id order, batches of READ_BATCH), so a page of the table costs no scan of the
// events log. Bounded by the hosts named in events; a `host.removed` event forgets its host. The
// first read walks the whole log once (at most `events.maxRows` rows).
import type { Repos, StoredEvent } from '../store/index.js';

const READ_BATCH = 10_000;

export interface LastEvent {
  id: number;
  at: string;
  kind: string;
}

export interface PowerView {
  /** on | off | unknown (what the BMC last said), or null when the last action failed before any answer. */
  state: string | null;
  action: string | null;
  ok: boolean;
  at: string;
}

export interface Activity {
  last: LastEvent | null;
  power: PowerView | null;
  /** The latest reportStatus state (`host.status`) with its time: the installer's progress. */
  status: { state: string; at: string } | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export class HostActivity {
  private readonly byHost = new Map<string, Activity>();
  private lastId = 0;
  private running: Promise<void> | null = null;

  constructor(private readonly repos: Repos) {}

  /** Reads the events appended since the previous call (one read at a time; callers share it). */
  refresh(): Promise<void> {
    this.running ??= this.read().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  of(host: string): Activity {
    return this.byHost.get(host) ?? { last: null, power: null, status: null };
  }

  private async read(): Promise<void> {
    for (;;) {
      const batch = await this.repos.events.list({ sinceId: this.lastId, limit: READ_BATCH });
      for (const e of batch) this.apply(e);
      if (batch.length > 0) this.lastId = batch[batch.length - 1]!.id;
      if (batch.length < READ_BATCH) return;
    }
  }

  private apply(e: StoredEvent): void {
    if (!e.host) return;
    if (e.kind === 'host.removed') {
      this.byHost.delete(e.host);
      return;
    }
    const a = this.byHost.get(e.host) ?? { last: null, power: null, status: null };
    a.last = { id: e.id, at: e.at, kind: e.kind };
    if (e.kind === 'power') {
      const d = e.detail;
      const ok = d['ok'] === true;
      // A failed action says nothing new about the power state unless the BMC answered one.
      a.power = { state: str(d['state']) ?? (ok ? null : (a.power?.state ?? null)), action: str(d['action']), ok, at: e.at };
    } else if (e.kind === 'host.status') {
      const s = str(e.detail['state']);
      if (s) a.status = { state: s, at: e.at };
    }
    this.byHost.set(e.host, a);
  }
}
