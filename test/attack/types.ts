// The contract of the attack harness: one module per attack in this folder, each exporting
// `attack: Attack`. The attack tests (test/attack/*.test.ts) start one against a frontend's
// services on loopback and check that the legitimate path still works while it runs; the
// benchmark (`npm run bench:attack`) starts each one while a simulated boot storm runs.
// Attacks send traffic only to the addresses they are given (loopback, or a namespace the caller
// created), need no credentials, and stop() releases every socket they opened.

/** Where the services under attack listen. A port of 0 means that service is not running. */
export interface AttackTarget {
  host: string;
  httpPort: number;
  tftpPort: number;
  iscsiPort: number;
  /** Local addresses the attack may bind as its source (several "clients"); default: one. */
  sourceAddresses?: readonly string[];
}

export interface RunningAttack {
  /** What the attack has done so far (connections held, requests sent, refusals seen...). */
  stats(): Record<string, number>;
  /** Ends the attack and closes everything it opened. */
  stop(): Promise<void>;
}

export interface Attack {
  /** Short name, printed by the benchmark (e.g. `iscsi-discovery-flood`). */
  name: string;
  /** The numbered item of issue #14 it reproduces, in words. */
  what: string;
  /** Starts the attack; resolves once it is at full strength (its sockets are open). */
  start(t: AttackTarget, o?: { scale?: number }): Promise<RunningAttack>;
}
