// The power drivers of this netroot, from the config's `power.*` settings: the one place the CLI
// (`netroot power`, `host set --reboot`, `insert-ethers --replace --reboot`) and the frontend's REST
// route get them from.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { UserError } from '../errors.js';
import { IpmiDriver } from '../power/ipmi.js';
import { RedfishDriver } from '../power/redfish.js';
import type { PowerDrivers } from '../power/runner.js';

export function powerDrivers(config: Config): PowerDrivers {
  const p = config.power;
  return {
    ipmi: new IpmiDriver({
      ipmitool: p.ipmitool,
      timeoutMs: p.timeoutSeconds * 1000,
      cipherSuite: p.ipmiCipherSuite,
      retries: p.ipmiRetries,
    }),
    redfish: new RedfishDriver({
      requestTimeoutMs: p.timeoutSeconds * 1000,
      maxResponseBytes: p.redfishMaxResponseBytes,
      ...(p.redfishCaFile ? { ca: readCa(p.redfishCaFile) } : {}),
    }),
  };
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UserError('E_CONFIG_INVALID', `power.redfishCaFile ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
}
