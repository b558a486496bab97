// The power drivers of this netroot, from the config's `power.*` settings: the one place the CLI
// (`netroot power`, `host set --reboot`, `insert-ethers --replace --reboot`) and the frontend's REST
// route get them from. The Redfish driver joins the map here when it is merged.
import type { Config } from '../config/index.js';
import { IpmiDriver } from '../power/ipmi.js';
import type { PowerDrivers } from '../power/runner.js';

export function powerDrivers(config: Config): PowerDrivers {
  return {
    ipmi: new IpmiDriver({
      ipmitool: config.power.ipmitool,
      timeoutMs: config.power.timeoutSeconds * 1000,
      cipherSuite: config.power.ipmiCipherSuite,
      retries: config.power.ipmiRetries,
    }),
  };
}
