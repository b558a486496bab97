// Bad input to `netroot host …`: each case is one `netroot: ` message naming the argument, exit 2,
// no doubled prefix (`mac: mac: …`), and nothing changed — hosts, attributes, events, the hosts
// file and the volumes directory are as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempStateDir } from '../helpers/cli.js';
import { noFrontend } from '../helpers/frontend.js';
import { openStore } from '../../src/store/index.js';

async function snapshot(dir: string, down: string[]): Promise<string> {
  const hosts = (await cli(dir, ...down, 'host', 'list', '--json')).out;
  const store = openStore(dir);
  try {
    const attrs = await store.attributes.list({ scope: 'host' });
    const events = await store.events.list({ limit: 100_000 });
    const file = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
    return JSON.stringify({ hosts, attrs, events: events.length, hostsFile: file(join(dir, 'hosts')), volumes: readdirSync(join(dir, 'volumes')).sort() });
  } finally {
    await store.close();
  }
}

test('bad input to host commands: one message naming the argument, exit 2, nothing changed', async () => {
  const dir = tempStateDir('nrt-hosterr-');
  const down = await noFrontend();
  try {
    for (const argv of [
      ['host', 'add', 'compute-0-0', '--appliance', 'compute-diskless', '--mac', '52:54:00:00:06:01', '--ip', '10.1.0.10'],
      ['host', 'add', 'compute-0-1', '--appliance', 'compute', '--mac', '52:54:00:00:06:02', '--ip', '10.1.0.11'],
    ])
      assert.equal((await cli(dir, ...down, ...argv)).code, 0);
    const before = await snapshot(dir, down);
    const cases: Array<[string[], RegExp]> = [
      // unknown flags, missing values and arguments
      [['host', 'remove', 'compute-0-0', '--force'], /^netroot: Unknown option '--force'/],
      [['host', 'set', 'compute-0-0', 'boot=os', '--bogus'], /^netroot: Unknown option '--bogus'/],
      [['host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac', '52:54:00:00:06:03', '--colour', 'red'], /^netroot: Unknown option '--colour'/],
      [['host', 'interface', 'add', 'compute-0-0', '--mac', '52:54:00:00:06:03', '--nope'], /^netroot: Unknown option '--nope'/],
      [['host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac'], /^netroot: Option '--mac <value>' argument missing/],
      [['host', 'interface', 'add', 'compute-0-0', '--mac'], /^netroot: Option '--mac <value>' argument missing/],
      [['host', 'remove'], /^netroot: missing argument\nusage:/],
      [['host', 'set', 'compute-0-0'], /^netroot: missing argument\nusage:/],
      [['host', 'add', 'compute-0-2', '--mac', '52:54:00:00:06:03'], /^netroot: --appliance is required/],
      [['host', 'set', 'compute-0-0', 'boot'], /^netroot: expected key=value, got "boot"/],
      [['host', 'set', 'compute-0-0', 'colour=red'], /^netroot: unknown host field "colour" \(one of boot, appliance/],
      [['host', 'set', 'compute-0-0', 'rack=abc'], /^netroot: --rack: expected a whole number/],
      [['host', 'set', 'compute-0-0', 'boot=fly'], /^netroot: boot: boot action must be one of install, os, local, sanboot, got "fly"$/],
      [['host', 'set', 'compute-0-0', 'state=gone'], /^netroot: state: state must be one of/],
      // bad MAC or IP, and ones another host holds
      [['host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac', 'zz:54:00:aa:00:02'], /^netroot: mac: not a MAC address: "zz:54:00:aa:00:02"$/],
      [
        ['host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac', '52:54:00:00:06:03', '--ip', '10.1.300.1'],
        /^netroot: ip: not an IPv4 address: "10\.1\.300\.1"$/,
      ],
      [['host', 'set', 'compute-0-1', 'mac=52:54:00:00:06'], /^netroot: mac: not a MAC address: "52:54:00:00:06"$/],
      [['host', 'set', 'compute-0-1', 'ip=10.1.0'], /^netroot: ip: not an IPv4 address: "10\.1\.0"$/],
      [['host', 'set', 'compute-0-1', 'ip=10.1.0.10'], /^netroot: ip: IP 10\.1\.0\.10 is already assigned to compute-0-0$/],
      [['host', 'set', 'compute-0-1', 'mac=52:54:00:00:06:01'], /^netroot: mac: MAC 52:54:00:00:06:01 is already assigned to compute-0-0$/],
      [
        ['host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac', '52:54:00:00:06:01'],
        /^netroot: mac: MAC 52:54:00:00:06:01 is already assigned to compute-0-0$/,
      ],
      [['host', 'add', 'compute-0-0', '--appliance', 'compute', '--mac', '52:54:00:00:06:09'], /^netroot: name: host compute-0-0 already exists$/],
      [['host', 'add', 'Bad_Name', '--appliance', 'compute', '--mac', '52:54:00:00:06:09'], /^netroot: name: not a valid host name: "Bad_Name"/],
      // unknown host or appliance
      [['host', 'remove', 'nope', '--yes'], /^netroot: unknown host "nope"$/],
      [['host', 'show', 'nope'], /^netroot: unknown host "nope"$/],
      [['host', 'set', 'nope', 'boot=os'], /^netroot: unknown host "nope"$/],
      [['host', 'set', 'compute-0-[0-2]', 'boot=os'], /^netroot: unknown host "compute-0-2" \(from compute-0-\[0-2\]\)$/],
      [['host', 'interface', 'add', 'nope', '--mac', '52:54:00:00:06:09'], /^netroot: host: unknown host "nope"$/],
      [['host', 'add', 'compute-0-2', '--appliance', 'nope', '--mac', '52:54:00:00:06:09'], /^netroot: appliance: unknown appliance "nope"$/],
      [['host', 'set', 'compute-0-1', 'appliance=nope'], /^netroot: appliance: unknown appliance "nope"$/],
      // malformed or too-large hostlists; ip=/mac= name one host
      [['host', 'remove', 'compute-0-[0', '--yes'], /^netroot: host list "compute-0-\[0": "\[" without "\]"$/],
      [['host', 'show', 'compute-0-[5-1]'], /^netroot: host list "compute-0-\[5-1\]": range 5-1 runs backwards$/],
      [['host', 'set', 'compute-0-[x]', 'boot=os'], /^netroot: host list "compute-0-\[x\]": "x" is not a number/],
      [['host', 'remove', 'compute-[0-99]-[0-99]', '--yes'], /^netroot: host list "compute-\[0-99\]-\[0-99\]": expands to more than 4096 names$/],
      [['host', 'set', 'compute-0-[0-1]', 'ip=10.1.0.50'], /^netroot: ip= and mac= belong to one host, and compute-0-\[0-1\] names 2$/],
      // destructive without a terminal or --yes
      [
        ['host', 'remove', 'compute-0-[0-1]'],
        /^netroot: this will remove 2 hosts \(compute-0-0 … compute-0-1\) and delete its iSCSI volume compute-0-0 \(its whole root filesystem\): confirm with --yes$/,
      ],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(dir, ...down, ...argv);
      const what = `${argv.join(' ')} → ${r.code}: ${r.err}`;
      assert.equal(r.code, 2, what);
      assert.equal(r.out, '', what);
      assert.match(r.err.trimEnd(), re, what);
      assert.doesNotMatch(r.err, /^netroot: ([\w-]+): \1:/, `doubled prefix: ${what}`);
      assert.equal(r.err.match(/netroot: /g)?.length, 1, `one message: ${what}`);
    }
    assert.equal(await snapshot(dir, down), before, 'nothing changed');
  } finally {
    rmSync(dir, { recursive: true });
  }
});
