// Readings of a process from /proc (proc(5)), for benchmarks that compare a server's cost.
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of the times in /proc/PID/stat; 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** The number on line `field:` of /proc/PID/status (kB for the Vm* lines), or NaN if there is none. */
export function statusField(pid: number | 'self', field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/**
 * CPU seconds (user + system) from /proc/PID/stat: the process's own, or those of its children
 * that it has waited for (cutime + cstime).
 */
export function cpuSeconds(pid: number | 'self', whose: 'own' | 'reaped children' = 'own'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Split after the parenthesised command name (it may hold spaces): f[0] is field 3, state.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [user, system] = whose === 'own' ? [f[11], f[12]] : [f[13], f[14]];
  return (Number(user) + Number(system)) / USER_HZ;
}
