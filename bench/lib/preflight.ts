// What a root benchmark checks before it touches anything: root, the native helpers (`npm run
// build:native`: SO_BINDTODEVICE for the DHCP sockets, netroot's TFTP I/O), and the tools it runs.
// A missing one ends the bench with exit code 2 and one line saying what to install.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export function preflight(bench: string, o: { rootFor: string; tools?: readonly string[]; packages?: string }): void {
  const fail = (why: string): never => {
    console.error(`${bench} ${why}`);
    process.exit(2);
  };
  if (process.getuid?.() !== 0) fail(`needs root (${o.rootFor})`);
  for (const n of ['bindtodevice', 'tftpio', 'icmp6'])
    if (!existsSync(`native/${n}/build/Release/${n}.node`)) fail(`needs native/${n} built: npm run build:native`);
  for (const tool of o.tools ?? [])
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) fail(`needs ${tool}${o.packages ? ` (Debian ${o.packages})` : ''}`);
}
