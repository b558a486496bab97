// iPXE's DHCP with and without 175.176 no-pxedhcp (issue #23), in one run: a BIOS QEMU node (TCG,
// QEMU's iPXE ROM) in the lab namespace boots to a marker initrd ROUNDS times against netroot
// (dhcp.ipxeNoProxyDhcp on, the default) and against the same frontend with it off, which is what
// a DHCP server that does not send the option gives iPXE: it then collects ProxyDHCP offers for
// about 3 s. Measures from the frontend's own `dhcp offer` / `dhcp ack` log lines (the iPXE ones:
// boot file http://) and power-on → marker. Needs root; about 2 minutes. BENCH_ROUNDS (default 3).
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, installedKernel, markerInitrd } from '../src/lab/index.js';
import { run } from '../src/cli/main.js';
import { startFrontend, writeLabConfig } from '../test/e2e/helpers.js';
import { tempStateDir } from '../test/helpers/tmp.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const MAC = '52:54:00:12:34:56';
const quiet = { out: () => {}, err: (t: string) => process.stderr.write(t) };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ROUNDS boots with the option on or off: each round's iPXE offer → ack gap and power-on → marker, in seconds. */
async function boots(on: boolean): Promise<{ gap: number[]; boot: number[] }> {
  const dir = tempStateDir('nrb-ipxe-dhcp-');
  const lab = new Lab({ workDir: join(dir, 'lab') });
  try {
    await lab.up();
    writeLabConfig(dir, lab, 'boot:\n  installArgs: "console=ttyS0 panic=-1"\n');
    const file = join(dir, 'netroot.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('dhcp: { interfaces: [br0] }', `dhcp: { interfaces: [br0], ipxeNoProxyDhcp: ${on} }`));
    await run(['--state-dir', dir, 'assets', 'import'], quiet, {});
    const root = join(dir, 'tftpboot', 'install');
    mkdirSync(root, { recursive: true });
    copyFileSync(installedKernel(), join(root, 'vmlinuz'));
    writeFileSync(join(root, 'initrd.img'), markerInitrd('NETROOT-BENCH-MARKER'));
    await run(
      ['--state-dir', dir, 'host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', MAC, '--ip', '10.77.0.50', '--subnet', '10.77.0.0/24'],
      quiet,
      {},
    );
    const log: string[] = [];
    const fe = await startFrontend(lab, dir, (l) => log.push(l));
    const gap: number[] = [];
    const boot: number[] = [];
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const node = lab.bootNode({ mac: MAC, firmware: 'bios', memoryMb: 512 });
        const t = Date.now();
        await node.console.waitFor(/NETROOT-BENCH-MARKER cmdline=/, 240_000);
        boot.push((Date.now() - t) / 1000);
        await node.powerOff();
        const lines = log.splice(0).filter((l) => /dhcp (offer|ack)/.test(l) && l.includes('http://'));
        const offer = lines.findIndex((l) => l.includes('dhcp offer'));
        const ack = lines.findIndex((l, j) => j > offer && l.includes('dhcp ack'));
        if (offer < 0 || ack < 0) throw new Error(`no iPXE offer and ack in the frontend log:\n${lines.join('\n')}`);
        gap.push((Date.parse(lines[ack]!.slice(0, 24)) - Date.parse(lines[offer]!.slice(0, 24))) / 1000);
      }
    } finally {
      fe.kill('SIGTERM');
    }
    return { gap, boot };
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

const on = await boots(true);
const off = await boots(false);
const line = (what: string, a: number[], b: number[]) =>
  console.log(
    `${what} (median of ${ROUNDS}): netroot ${median(a).toFixed(2)} s, without 175.176 ${median(b).toFixed(2)} s, ratio ${(median(a) / median(b)).toFixed(2)} (lower is better)`,
  );
line('iPXE DHCP offer → ack', on.gap, off.gap);
line('BIOS power-on → marker initrd', on.boot, off.boot);
