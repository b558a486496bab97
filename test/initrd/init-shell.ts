// Runs functions of initrd-templates/init.sh in busybox sh (not as PID 1, so main never runs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const INIT_SH = resolve('initrd-templates/init.sh');
export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => spawnSync(p, ['true'], { stdio: 'ignore' }).status === 0);
export const skipBusybox = BUSYBOX || process.env.CI === 'true' ? false : 'busybox is not installed (Debian: busybox-static)';

const VARS = [
  'nr_root',
  'nr_netroot',
  'nr_target',
  'nr_portal',
  'nr_port',
  'nr_lun',
  'nr_initiator',
  'nr_iface',
  'nr_autoconf',
  'nr_addr',
  'nr_gw',
  'nr_mask',
  'nr_hostname',
  'nr_mode',
  'nr_shell',
  'nr_rw',
  'nr_rootfstype',
  'nr_init',
  'nr_timeout',
  'nr_chap_user',
  'nr_chap_secret',
  'nr_err',
  'nr_ifname',
  'nr_ifmac',
  'nr_params',
];

export interface ShellResult {
  ok: boolean;
  vars: Record<string, string>;
  stdout: string;
}

/**
 * Sources init.sh, resets, optionally loads a node.conf, then parses `cmdline` from a fake
 * /proc/cmdline file. `env` simulates variables the kernel hands to init.
 */
export function runParse(cmdline: string, opts: { nodeConf?: string; env?: Record<string, string> } = {}): ShellResult {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-init-'));
  try {
    writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
    if (opts.nodeConf !== undefined) writeFileSync(join(dir, 'node.conf'), opts.nodeConf);
    const dump = VARS.map((v) => `printf '%s=%s\\n' ${v} "$${v}"`).join('; ');
    const script = `. "$1"; nr_reset; load_node_conf "$2/node.conf"; if parse_cmdline "$2/cmdline"; then echo RESULT=ok; else echo RESULT=fail; fi; ${dump}`;
    const r = spawnSync(BUSYBOX ?? 'busybox', ['sh', '-c', script, 'sh', INIT_SH, dir], {
      env: { PATH: process.env.PATH ?? '', ...opts.env },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`busybox sh failed (${r.status}): ${r.stderr}`);
    const vars: Record<string, string> = {};
    const lines = r.stdout.split('\n');
    for (const l of lines) {
      const eq = l.indexOf('=');
      if (eq > 0 && /^(nr_[a-z_]+|RESULT)$/.test(l.slice(0, eq))) vars[l.slice(0, eq)] = l.slice(eq + 1);
    }
    return { ok: vars['RESULT'] === 'ok', vars, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
