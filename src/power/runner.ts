// Applies one PowerRequest to many hosts at once, at most `parallel` BMCs in flight (config
// power.parallel, default 32). Every host gets exactly one result; one host's failure (or a driver
// that throws something unexpected) never stops the others. Results come back in the order of
// `targets`; `onResult` sees each as it lands (the caller records the 'power' event there),
// `onProgress` after each (done/total/failed).
import { isNetrootError, type ErrorCode } from '../errors.js';
import type { BmcEntry, PowerDriver, PowerDriverName, PowerRequest, PowerState } from './types.js';

export const DEFAULT_POWER_PARALLEL = 32;

/** The codes a driver may reject with (types.ts PowerDriver.run); anything else is a driver bug. */
const DRIVER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_BMC_UNREACHABLE',
  'E_BMC_AUTH',
  'E_BMC_PROTOCOL',
  'E_BMC_TLS',
  'E_BMC_TIMEOUT',
  'E_BMC_UNSUPPORTED',
]);

/** The drivers a runner may use, by name; a BMC entry whose driver is missing is E_BMC_UNSUPPORTED. */
export type PowerDrivers = Partial<Record<PowerDriverName, PowerDriver>>;

export interface PowerTarget {
  host: string;
  /** null: the host has no BMC entry (E_BMC_NOT_SET for it). */
  bmc: BmcEntry | null;
}

export type HostPowerResult = { host: string; ok: true; state: PowerState } | { host: string; ok: false; code: ErrorCode; message: string };

export interface PowerProgress {
  done: number;
  total: number;
  failed: number;
}

export interface RunPowerOptions {
  /** BMCs in flight at once (≥ 1; default 32). */
  parallel?: number;
  onResult?: (r: HostPowerResult) => void | Promise<void>;
  onProgress?: (p: PowerProgress) => void;
}

/** One host through its driver, never rejecting: every outcome is a result. */
export async function powerOne(t: PowerTarget, req: PowerRequest, drivers: PowerDrivers): Promise<HostPowerResult> {
  if (t.bmc === null)
    return { host: t.host, ok: false, code: 'E_BMC_NOT_SET', message: `${t.host}: no BMC entry (set one with: netroot host bmc set ${t.host} …)` };
  const driver = drivers[t.bmc.driver];
  if (!driver)
    return { host: t.host, ok: false, code: 'E_BMC_UNSUPPORTED', message: `${t.host}: the ${t.bmc.driver} power driver is not available in this netroot` };
  if (req.signal?.aborted) return { host: t.host, ok: false, code: 'E_BMC_TIMEOUT', message: `${t.host}: aborted before its BMC was asked` };
  try {
    const r = await driver.run(t.bmc, req);
    return { host: t.host, ok: true, state: r.state };
  } catch (e) {
    if (isNetrootError(e) && DRIVER_CODES.has(e.code)) return { host: t.host, ok: false, code: e.code, message: e.message };
    // A driver bug must not take the other hosts down; its text may be anything, so it is not shown.
    return { host: t.host, ok: false, code: 'E_BMC_PROTOCOL', message: `${t.host}: the ${t.bmc.driver} driver failed unexpectedly` };
  }
}

export async function runPower(
  targets: readonly PowerTarget[],
  req: PowerRequest,
  drivers: PowerDrivers,
  opts: RunPowerOptions = {},
): Promise<HostPowerResult[]> {
  const parallel = opts.parallel ?? DEFAULT_POWER_PARALLEL;
  if (!Number.isInteger(parallel) || parallel < 1) throw new RangeError(`parallel must be a whole number ≥ 1, not ${parallel}`);
  const results: HostPowerResult[] = new Array(targets.length);
  const progress: PowerProgress = { done: 0, total: targets.length, failed: 0 };
  let next = 0;
  // A failing onResult (the store could not record the event) is thrown once every host is done.
  let hookError: { e: unknown } | undefined;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const r = await powerOne(targets[i]!, req, drivers);
      results[i] = r;
      progress.done++;
      if (!r.ok) progress.failed++;
      try {
        await opts.onResult?.(r);
      } catch (e) {
        hookError ??= { e };
      }
      opts.onProgress?.({ ...progress });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, targets.length) }, worker));
  if (hookError) throw hookError.e;
  return results;
}
