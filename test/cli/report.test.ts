// `netroot report hosts|dhcp|kickstart HOST`: the hosts file is the plugin's own text, the dhcpd.conf
// is accepted by ISC dhcpd's own parser (`dhcpd -t`) and says what the boot chain says, the kickstart
// is `netroot kickstart`'s with every secret masked unless --show-secrets; bad input is exit 2 with
// the state directory unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addGoldenHosts, cliOk, GOLDEN_ISCSI, tempStateDir } from '../helpers/cli.js';
import { assertOperatorErrors, stateWithHost } from '../helpers/operator-errors.js';
import { assertTools, skipUnless } from '../helpers/tools.js';

const DHCPD: Array<[string, string]> = [['dhcpd', 'isc-dhcp-server']];
const ROOTPW = '$6$saltsalt$CryptedRootPasswordHash';

/** A state directory with compute-0-0 (two interfaces: eth0 and a BMC on another network), compute-0-1 (diskless, CHAP). */
async function cluster(): Promise<string> {
  const dir = tempStateDir('nrt-report-');
  const ok = cliOk(dir);
  await addGoldenHosts(ok);
  await ok('host', 'interface', 'add', 'compute-0-0', '--mac', '52:54:00:aa:00:07', '--device', 'bmc', '--ip', '10.2.0.5');
  await ok('host', 'add', 'compute-0-2', '--appliance', 'compute', '--mac', '52:54:00:aa:00:03', '--ip', '10.1.255.252');
  await ok('attr', 'set', 'rootpw_crypted', ROOTPW);
  return dir;
}

/** `dhcpd -t -cf` on text: its exit status and what it said. */
function dhcpdCheck(dir: string, text: string): { status: number | null; output: string } {
  const file = join(dir, 'dhcpd.conf');
  writeFileSync(file, text);
  const r = spawnSync('dhcpd', ['-t', '-cf', file], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('report hosts is the text the hosts-file plugin wrote to <stateDir>/hosts', async () => {
  const dir = await cluster();
  try {
    const out = await cliOk(dir)('report', 'hosts');
    assert.equal(out, readFileSync(join(dir, 'hosts'), 'utf8'));
    assert.match(out, /^10\.1\.1\.1\tfrontend\.local frontend$/m);
    assert.match(out, /^10\.1\.255\.254\tcompute-0-0\.local compute-0-0$/m);
    assert.match(out, /^10\.2\.0\.5\tcompute-0-0-bmc\.local compute-0-0-bmc$/m);
    assert.match(out, /^10\.1\.255\.252\tcompute-0-2\.local compute-0-2$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("report dhcp is a dhcpd.conf that ISC dhcpd accepts, with a host stanza per interface and the boot chain's files", {
  skip: skipUnless(DHCPD),
}, async () => {
  assertTools(DHCPD);
  const dir = await cluster();
  try {
    const ok = cliOk(dir);
    // A domain with a double quote and a backslash must be quoted, not break the file.
    const out = await ok(
      '--set',
      'dhcp.poolStart=10.1.200.1',
      '--set',
      'dhcp.poolEnd=10.1.200.50',
      '--set',
      'network.router=10.1.1.254',
      '--set',
      'network.dns=10.1.1.1,10.1.1.2',
      '--set',
      'network.domain=clu"ster\\x',
      '--set',
      'boot.uefiIpxe=snponly.efi',
      'report',
      'dhcp',
    );
    const check = dhcpdCheck(dir, out);
    assert.equal(check.status, 0, `dhcpd -t refused it:\n${check.output}\n${out}`);
    assert.match(out, /^option domain-name "clu\\"ster\\\\x";$/m);
    assert.match(out, /^option routers 10\.1\.1\.254;$/m);
    assert.match(out, /^option domain-name-servers 10\.1\.1\.1, 10\.1\.1\.2;$/m);
    assert.match(out, /^next-server 10\.1\.1\.1;$/m);
    assert.match(out, /^default-lease-time 86400;$/m);
    assert.match(out, /^subnet 10\.1\.0\.0 netmask 255\.255\.0\.0 \{$/m);
    assert.match(out, /^ {4}range 10\.1\.200\.1 10\.1\.200\.50;\n {4}default-lease-time 600;$/m);
    const stanza = (name: string, mac: string, ip: string, host = name) =>
      new RegExp(
        `^  host ${name} \\{\\n    hardware ethernet ${mac};\\n    fixed-address ${ip.replace(/\./g, '\\.')};\\n    option host-name "${host}";\\n.*\\n      filename "http://10\\.1\\.1\\.1:8080/boot/ipxe/${mac}";$`,
        'm',
      );
    assert.match(out, stanza('compute-0-0', '52:54:00:aa:00:01', '10.1.255.254'));
    assert.match(out, stanza('compute-0-0-bmc', '52:54:00:aa:00:07', '10.2.0.5', 'compute-0-0'));
    assert.match(out, stanza('compute-0-1', '52:54:00:aa:00:02', '10.1.255.253'));
    assert.match(out, stanza('compute-0-2', '52:54:00:aa:00:03', '10.1.255.252'));
    assert.equal(out.match(/^ {2}host /gm)?.length, 4, 'one host stanza per interface with an address');
    // PXE over TFTP: BIOS (and no option 93) undionly.kpxe, x86-64 UEFI the configured binary, ARM64 its own.
    assert.match(out, /if not exists client-arch \{\n\s+filename "undionly\.kpxe";/);
    assert.match(out, /option client-arch = 7 or option client-arch = 9 or option client-arch = 16 \{\n\s+filename "snponly\.efi";/);
    assert.match(out, /option client-arch = 11 or option client-arch = 19 \{\n\s+filename "ipxe-arm64\.efi";/);
    // UEFI HTTP boot: the same files as URLs.
    assert.match(out, /"HTTPClient" \{\n\s+if not exists client-arch \{\n\s+filename "http:\/\/10\.1\.1\.1:8080\/boot\/files\/undionly\.kpxe";/);
    assert.match(out, /filename "http:\/\/10\.1\.1\.1:8080\/boot\/files\/snponly\.efi";/);
    // The check has teeth: dhcpd refuses the same file with a brace missing.
    assert.notEqual(dhcpdCheck(dir, out.replace('  host compute-0-2 {', '  host compute-0-2')).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report dhcp with no hosts and no pool is still a valid dhcpd.conf', { skip: skipUnless(DHCPD) }, async () => {
  assertTools(DHCPD);
  const dir = tempStateDir('nrt-report-');
  try {
    const out = await cliOk(dir)('report', 'dhcp');
    assert.equal(dhcpdCheck(dir, out).status, 0, out);
    assert.doesNotMatch(out, /^\s*(host|range|pool) /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report kickstart masks the CHAP secret and every secret attribute unless --show-secrets', async () => {
  const dir = await cluster();
  try {
    const ok = cliOk(dir);
    const plain = await ok('kickstart', 'compute-0-1');
    const secret = GOLDEN_ISCSI['iscsi_secret']!;
    assert.ok(plain.includes(secret) && plain.includes(ROOTPW), 'the kickstart does carry both secrets');
    const masked = await ok('report', 'kickstart', 'compute-0-1');
    assert.ok(!masked.includes(secret) && !masked.includes(ROOTPW), masked);
    assert.equal(masked, plain.split(secret).join('********').split(ROOTPW).join('********'), 'only the secrets differ');
    assert.equal(await ok('report', 'kickstart', 'compute-0-1', '--show-secrets'), plain);
    // A host without CHAP: the root password is still masked, the rest as netroot kickstart prints it.
    const other = await ok('report', 'kickstart', 'compute-0-0');
    assert.equal(other, (await ok('kickstart', 'compute-0-0')).split(ROOTPW).join('********'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report: bad input is exit 2 naming the argument, nothing changed', async () => {
  // No diskless host here: its 16 GiB sparse volume file is too big for the snapshot to hash.
  const dir = await stateWithHost('nrt-report-');
  try {
    const cases: Array<[string[], RegExp]> = [
      [['report'], /^netroot: missing report command\nusage: netroot report hosts/],
      [['report', 'dhcpd'], /^netroot: unknown report command "dhcpd"/],
      [['report', 'kickstart'], /^netroot: missing argument\nusage: /],
      [['report', 'kickstart', 'compute-9-9'], /^netroot: host: unknown host "compute-9-9"\n$/],
      [['report', 'kickstart', 'compute-0-0', 'compute-0-1'], /^netroot: unexpected argument "compute-0-1"/],
      [['report', 'hosts', 'extra'], /^netroot: unexpected argument "extra"/],
      [['report', 'dhcp', '--show-secrets'], /^netroot: Unknown option '--show-secrets'/],
      [['report', 'kickstart', 'compute-0-0', '--show'], /^netroot: Unknown option '--show'/],
      [['report', 'hosts', '--json'], /^netroot: report prints text .*--json is not supported/],
      [['--json', 'report', 'dhcp'], /--json is not supported/],
      [['kickstart', 'compute-0-0', '--json'], /^netroot: kickstart prints the kickstart text: --json is not supported/],
      [
        ['--set', 'network.domain=bad\nname', 'report', 'dhcp'],
        /^netroot: network\.domain: "bad\\nname" has a control character: it cannot be written in a dhcpd\.conf\n$/,
      ],
    ];
    await assertOperatorErrors(dir, cases);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
