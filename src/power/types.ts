// The power contract: one interface, two drivers (IPMI through ipmitool, Redfish over HTTPS).
// Everything that powers a node — the `netroot power` CLI, REST `POST /api/v1/hosts/{name}/power`,
// `insert-ethers --replace`, `host set boot=install --reboot`, the lab — goes through `PowerDriver`.
// A driver never logs or returns the BMC secret: errors name the host, the BMC address and the cause.

export const POWER_DRIVERS = ['ipmi', 'redfish'] as const;
export type PowerDriverName = (typeof POWER_DRIVERS)[number];

/** on, off (hard), cycle (off then on), reset (hard reset), soft (ACPI shutdown), status (read only). */
export const POWER_ACTIONS = ['on', 'off', 'cycle', 'reset', 'soft', 'status'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

export type PowerState = 'on' | 'off' | 'unknown';

/** A host's baseboard management controller, as the store keeps it (the secret is masked everywhere else). */
export interface BmcEntry {
  /** The host this BMC powers. */
  host: string;
  driver: PowerDriverName;
  /** IPv4 address or DNS name of the BMC. */
  address: string;
  /** UDP port for IPMI (default 623), TCP port for Redfish (default 443); null = the driver's default. */
  port: number | null;
  user: string;
  /** The BMC password. A secret: never on a command line, in a log, an event or an error. */
  secret: string;
  /** Redfish only: accept a self-signed or otherwise unverifiable certificate. Default false. */
  insecureTls: boolean;
  /** Redfish only: the ComputerSystem id under /redfish/v1/Systems/; null = the only one there. */
  systemId: string | null;
}

export interface PowerRequest {
  action: PowerAction;
  /** Before on/cycle/reset: set the next boot to PXE (IPMI `chassis bootdev pxe`, Redfish
   * `Boot.BootSourceOverrideTarget = Pxe` with `BootSourceOverrideEnabled = Once`). */
  pxe?: boolean;
  /** Aborts the call (the CLI's deadline, a cancelled REST request); the driver stops its child or request. */
  signal?: AbortSignal;
}

export interface PowerResult {
  /** The power state after the action (for `status`, the state read). */
  state: PowerState;
}

export interface PowerDriver {
  readonly name: PowerDriverName;
  /**
   * Runs one action on one BMC. Rejects with a NetrootError whose code is one of
   * E_BMC_UNREACHABLE, E_BMC_AUTH, E_BMC_PROTOCOL, E_BMC_TLS, E_BMC_TIMEOUT, E_BMC_UNSUPPORTED;
   * its message names the host and the cause and never contains the secret.
   */
  run(bmc: BmcEntry, req: PowerRequest): Promise<PowerResult>;
}
