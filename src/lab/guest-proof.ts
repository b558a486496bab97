// What a lab node's diskless root says about its own boot (initrd-templates/lab-root/init): the
// device its root is mounted from and each iSCSI session the kernel holds, read from /proc/mounts
// and /sys/class/iscsi_session. The lab checks them against the target and initiator netroot
// allocated, so a node that booted from someone else's volume (or from no iSCSI session) fails.
import { NetrootError } from '../errors.js';

export interface GuestSession {
  target: string;
  initiator: string;
  /** Block devices behind the session (sda, …). */
  disks: string[];
}

export interface GuestProof {
  /** As /proc/mounts names it, e.g. /dev/sda1. */
  rootDevice: string;
  sessions: GuestSession[];
}

const ROOT = /^netroot-root: root device (\S+)\s*$/;
const SESSION = /^netroot-root: iscsi session target (\S+) initiator (\S*) disks (\S+)\s*$/;

/** The proof in a console transcript; throws E_LAB_ROOT when the root did not print its device. */
export function parseGuestProof(console: string, host: string): GuestProof {
  let rootDevice: string | null = null;
  const sessions: GuestSession[] = [];
  for (const raw of console.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const r = ROOT.exec(line);
    if (r) rootDevice = r[1]!;
    const s = SESSION.exec(line);
    if (s) sessions.push({ target: s[1]!, initiator: s[2]!, disks: s[3] === 'none' ? [] : s[3]!.split(',') });
  }
  if (!rootDevice) throw new NetrootError('E_LAB_ROOT', `${host}: the diskless root did not print its root device`);
  return { rootDevice, sessions };
}

/**
 * Checks that the root is on a disk of the one session with `expect.target`, logged in as
 * `expect.initiator`. Throws E_LAB_ROOT naming what the guest said otherwise.
 */
export function checkGuestProof(proof: GuestProof, expect: { target: string; initiator: string }, host: string): void {
  const said = `root ${proof.rootDevice}; sessions: ${proof.sessions.map((s) => `${s.target} as ${s.initiator} [${s.disks.join(',')}]`).join('; ') || 'none'}`;
  const mine = proof.sessions.filter((s) => s.target === expect.target);
  if (mine.length !== 1) throw new NetrootError('E_LAB_ROOT', `${host}: expected one iSCSI session with ${expect.target}; the guest said ${said}`);
  const s = mine[0]!;
  if (s.initiator !== expect.initiator)
    throw new NetrootError('E_LAB_ROOT', `${host}: logged in as ${s.initiator}, not ${expect.initiator}; the guest said ${said}`);
  const dev = /^\/dev\/([a-z]+)\d*$/.exec(proof.rootDevice)?.[1];
  if (!dev || !s.disks.includes(dev)) throw new NetrootError('E_LAB_ROOT', `${host}: the root is not on a disk of its iSCSI session; the guest said ${said}`);
}
