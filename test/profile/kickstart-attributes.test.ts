// Attribute values on kickstart command lines (src/profile/kickstart-attributes.ts): every bad
// value of issue 13 is refused by name with E_KICKSTART_ATTRIBUTE through the shipped roles, a
// secret is never shown, good values pass, and the rules follow the place in any role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ProfileCompiler, DEFAULT_GLOBAL_ATTRIBUTES } from '../../src/profile/index.js';
import { tree, node, graph } from './helpers.js';
import { GOLDEN_ISCSI } from '../helpers/cli.js';

const shipped = new ProfileCompiler({ rolesDir: 'roles', graphsDir: 'graphs', graph: 'default' });
const HOST = {
  ...DEFAULT_GLOBAL_ATTRIBUTES,
  hostname: 'compute-0-1',
  appliance: 'compute-diskless',
  rack: '0',
  rank: '1',
  install_token: 'T',
  Kickstart_PrivateAddress: '10.1.1.1',
  Kickstart_PrivateHostname: 'frontend',
  Kickstart_PrivateDNSDomain: 'local',
  netroot_http_port: '8080',
  ...GOLDEN_ISCSI,
};
const render = (over: Record<string, string>, root = 'compute-diskless') => shipped.render(root, { ...HOST, ...over });

type Err = Error & { code?: string; where?: string };
function refused(over: Record<string, string>, name: string, why: RegExp, file: RegExp, root?: string): string {
  let err: Err | undefined;
  try {
    render(over, root);
  } catch (e) {
    err = e as Err;
  }
  assert.ok(err, `${JSON.stringify(over)} was accepted`);
  assert.equal(err.code, 'E_KICKSTART_ATTRIBUTE', err.message);
  assert.equal(err.where, name);
  assert.ok(err.message.startsWith(`${name}: `), err.message);
  assert.match(err.message, why);
  assert.match(err.message, file, 'names the role file and line');
  return err.message;
}

test('issue 13: each bad value is refused naming the attribute, what is wrong and the role line', () => {
  const base = /roles\/base\/base\.xml:\d+\)$/;
  refused({ rootpw_crypted: '$6$ab cd' }, 'rootpw_crypted', /white space.*rootpw --iscrypted takes one crypt\(3\) hash/, base);
  refused({ rootpw_crypted: 'plaintext' }, 'rootpw_crypted', /is not a crypt\(3\) hash/, base);
  refused({ Kickstart_Lang: '' }, 'Kickstart_Lang', /"" is empty; lang takes one locale/, base);
  refused({ Kickstart_Lang: 'en US' }, 'Kickstart_Lang', /"en US" has white space/, base);
  refused(
    { Kickstart_InstallUrl: 'http://mirror.local/rocky 9/os' },
    'Kickstart_InstallUrl',
    /white space.*url --url= takes an http, https, ftp or nfs URL/,
    base,
  );
  refused({ Kickstart_InstallUrl: 'http:///rocky/9' }, 'Kickstart_InstallUrl', /has no host/, base);
  refused({ Kickstart_InstallUrl: 'file:///srv/os' }, 'Kickstart_InstallUrl', /scheme file/, base);
  refused({ Kickstart_LiveImage: 'http://10.1.1.1/images/my root.tar' }, 'Kickstart_LiveImage', /white space.*liveimg --url=/, base);
  refused({ Kickstart_Timezone: 'UTC\n%pre\nreboot' }, 'Kickstart_Timezone', /"UTC\\n%pre\\nreboot" has a control character or line break \(U\+000A\)/, base);
  refused({ Kickstart_Timezone: 'Europe/Paris\u2028reboot' }, 'Kickstart_Timezone', /U\+2028/, base);
  refused({ Kickstart_Timezone: 'Europe/Paris --isUtc' }, 'Kickstart_Timezone', /white space/, base);
  refused({ Kickstart_Timezone: 'paris' }, 'Kickstart_Timezone', /is not an Olson time zone name/, base);
  refused({ Kickstart_Keyboard: '' }, 'Kickstart_Keyboard', /is empty; keyboard takes/, base);
  refused({ hostname: 'compute_0_1' }, 'hostname', /is not a host name; network --hostname=/, base);
  refused({ hostname: `${'a'.repeat(65)}` }, 'hostname', /is not a host name/, base);
  refused({ Kickstart_Bootproto: 'dhcp4' }, 'Kickstart_Bootproto', /network --bootproto= takes one of dhcp, static, bootp, ibft, query/, base);
  const diskless = /roles\/diskless\/diskless\.xml:\d+\)$/;
  refused({ iscsi_initiator: 'iqn.2026-11.local.netroot:init compute' }, 'iscsi_initiator', /iscsiname takes an iSCSI name/, diskless);
  refused({ iscsi_target: 'target-1' }, 'iscsi_target', /is not an iSCSI name; iscsi --target=/, diskless);
  refused({ iscsi_portal: 'frontend.local' }, 'iscsi_portal', /is not an IP address/, diskless);
  refused({ iscsi_port: '0' }, 'iscsi_port', /is not a port number/, diskless);
  refused({ iscsi_user: "o'brien" }, 'iscsi_user', /shell-like quoting/, diskless);
  refused({ iscsi_lun: '0,1' }, 'iscsi_lun', /comma.*ignoredisk --only-use=/, diskless);
});

test('a secret attribute is never shown: "the value" instead', () => {
  for (const [name, value] of [
    ['rootpw_crypted', '$6$S3cr3tSalt$zz yy'],
    ['iscsi_secret', 'Sup3rSecret #1'],
    ['iscsi_secret', 'Sup3rSecret\nx'],
    ['iscsi_secret', 'Sup3r"Secret'],
  ] as const) {
    const message = refused({ [name]: value }, name, /^\w+: the value (has|is) /, /\.xml:\d+\)$/);
    for (const piece of value.split(/[\s#"]+/).filter((p) => p.length >= 3)) assert.ok(!message.includes(piece), `${message} shows ${piece}`);
  }
});

test('good values pass, and the shipped kickstarts are unchanged by the check', () => {
  const goods: Array<Record<string, string>> = [
    { Kickstart_Timezone: 'Etc/GMT+5' },
    { Kickstart_Timezone: 'America/Argentina/Buenos_Aires' },
    { Kickstart_Timezone: 'UTC' },
    { Kickstart_Lang: 'sr_RS.UTF-8@latin' },
    { Kickstart_Lang: 'C.UTF-8' },
    { Kickstart_Keyboard: 'de-latin1-nodeadkeys' },
    { rootpw_crypted: '$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7' },
    { rootpw_crypted: '$6$rounds=5000$salt$abc/def.' },
    { Kickstart_InstallUrl: 'nfs://10.1.1.1/export/rocky' },
    { Kickstart_InstallUrl: 'nfs:10.1.1.1:/export/rocky' },
    { Kickstart_InstallUrl: 'https://[fd00::1]:8443/os?x=1' },
    { Kickstart_LiveImage: 'http://10.1.1.1:8080/boot/files/img/root.tar.gz' },
    { Kickstart_Bootproto: 'static' },
    { iscsi_portal: 'fd00::1' },
  ];
  for (const over of goods) assert.doesNotThrow(() => render(over), JSON.stringify(over));
  assert.match(render({ Kickstart_LiveImage: 'http://10.1.1.1:8080/r.tar' }), /^liveimg --url=http:\/\/10\.1\.1\.1:8080\/r\.tar$/m);
  assert.match(render({ rootpw_crypted: '$6$salt$hash' }), /^rootpw --iscrypted \$6\$salt\$hash$/m);
});

test('the rules follow the place on the command line, in any role, whatever the attribute is called', () => {
  const { dir, compiler } = tree({
    'roles/r/url.xml': node('<main><url>--url=&src;</url></main>'),
    'roles/r/opt.xml': node('<main><part>/ --fstype=&fs; --label=x&suffix;</part></main>'),
    'roles/r/free.xml': node('<main><bootloader>&bl;</bootloader></main>'),
    'roles/r/quoted.xml': node('<main><bootloader>--location=mbr --append="console=ttyS0 &kargs;"</bootloader></main>'),
    'roles/r/xmlquoted.xml': node('<main><bootloader>--append=&quot;&kargs;&quot;</bootloader></main>'),
    'roles/r/sep.xml': node('<main><network>--bootproto &bp; --device=eth0</network></main>'),
    'graphs/g/g.xml': graph(''),
  });
  const code = (root: string, attrs: Record<string, string>) => {
    try {
      compiler.render(root, { hostname: 'h', ...attrs });
      return 'ok';
    } catch (e) {
      return `${(e as Err).code} ${(e as Err).where}: ${(e as Error).message}`;
    }
  };
  try {
    assert.match(code('url', { src: 'http://a/b c' }), /^E_KICKSTART_ATTRIBUTE src: .*url --url= takes an http/);
    assert.match(code('opt', { fs: 'ext4 --grow', suffix: '' }), /^E_KICKSTART_ATTRIBUTE fs: .*white space/);
    assert.match(code('opt', { fs: 'ext4', suffix: 'a#b' }), /^E_KICKSTART_ATTRIBUTE suffix: .*'#', where Anaconda cuts the line/);
    assert.equal(code('opt', { fs: 'ext4', suffix: '' }), 'ok');
    // A command's whole argument string (no known argument format) may be several words, never several lines.
    assert.equal(code('free', { bl: '--location=mbr --append="console=ttyS0 quiet"' }), 'ok');
    assert.match(code('free', { bl: '--location=mbr\n%pre' }), /^E_KICKSTART_ATTRIBUTE bl: .*U\+000A/);
    // Inside the role's own quotes, white space is fine; that quote is not.
    assert.equal(code('quoted', { kargs: 'quiet rd.shell=0' }), 'ok');
    assert.match(code('quoted', { kargs: 'quiet" --location=none' }), /^E_KICKSTART_ATTRIBUTE kargs: .*end or escape the quotes/);
    assert.equal(code('xmlquoted', { kargs: 'quiet splash' }), 'ok');
    // `--option value` (separate word) is judged as that option's value.
    assert.match(code('sep', { bp: 'dhcp6' }), /^E_KICKSTART_ATTRIBUTE bp: .*network --bootproto= takes one of/);
    assert.equal(code('sep', { bp: 'dhcp' }), 'ok');
    // The header comment shows hostname and appliance: one line each.
    assert.match(code('url', { src: 'http://a/', hostname: 'h\n%pre' }), /^E_KICKSTART_ATTRIBUTE hostname: .*header comment is one line/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
