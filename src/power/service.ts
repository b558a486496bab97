// Power for named hosts with their stored BMC entries, every outcome recorded as an event: kind
// 'power', host = the host, detail {action, pxe, ok, state?, code?, message?} (never the secret; the
// dashboard shows a host's power state from its latest 'power' event). The CLI (local) and the REST
// route both come through here, so an action can never go unrecorded. The store is reached through
// the two narrow interfaces below (power/ imports only the leaves; store/ satisfies them).
import type { BmcEntry, PowerRequest } from './types.js';
import { runPower, type HostPowerResult, type PowerDrivers, type RunPowerOptions } from './runner.js';

export const POWER_EVENT = 'power';

export interface PowerStoreDeps {
  bmcs: { get(host: string): Promise<BmcEntry | null> };
  events: { append(e: { kind: string; host?: string | null; detail?: Record<string, unknown> }): Promise<unknown> };
}

/** The event detail of one result (the secret is never part of a result). */
export function powerEventDetail(req: PowerRequest, r: HostPowerResult): Record<string, unknown> {
  return r.ok
    ? { action: req.action, pxe: req.pxe === true, ok: true, state: r.state }
    : { action: req.action, pxe: req.pxe === true, ok: false, code: r.code, message: r.message };
}

export async function powerHosts(
  deps: PowerStoreDeps,
  hosts: readonly string[],
  req: PowerRequest,
  drivers: PowerDrivers,
  opts: RunPowerOptions = {},
): Promise<HostPowerResult[]> {
  const targets = [];
  for (const host of hosts) targets.push({ host, bmc: await deps.bmcs.get(host) });
  return runPower(targets, req, drivers, {
    ...opts,
    onResult: async (r) => {
      await deps.events.append({ kind: POWER_EVENT, host: r.host, detail: powerEventDetail(req, r) });
      await opts.onResult?.(r);
    },
  });
}
