// Every kickstart netroot emits is valid for RHEL8, RHEL9, RHEL10 and the newest Fedora by our own
// grammar (kickstart-grammar.ts, from pykickstart's documented syntax): each golden kickstart, and
// each shipped appliance's kickstart rendered fresh through the CLI with every variant the shipped
// roles have (url or liveimg, rootpw --lock or --iscrypted). The grammar catches what it must.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cliOk, tempStateDir } from '../helpers/cli.js';
import { kickstartProblems, shlexSplit, splitLines, VERSIONS, type Version } from './kickstart-grammar.js';

const valid = (what: string, ks: string) => {
  const problems = VERSIONS.flatMap((v) => kickstartProblems(ks, v).map((p) => `${v} ${p}`));
  assert.deepEqual(problems, [], `${what} is not valid kickstart:\n${problems.join('\n')}`);
};

test('every golden kickstart is valid for RHEL8, RHEL9, RHEL10 and F45', () => {
  const dir = 'test/golden/kickstart';
  const files = readdirSync(dir).filter((f) => f.endsWith('.ks'));
  assert.ok(files.length >= 2, files.join(' '));
  for (const f of files) valid(f, readFileSync(join(dir, f), 'utf8'));
});

test('the shipped appliances, rendered fresh with each variant of the shipped roles, are valid for every version', async () => {
  const dir = tempStateDir();
  try {
    const ok = cliOk(dir);
    const appliances = (JSON.parse(await ok('appliance', 'list', '--json')) as Array<{ name: string }>).map((a) => a.name);
    assert.ok(appliances.includes('compute') && appliances.includes('compute-diskless'), appliances.join(' '));
    const hosts = appliances.map((a, i) => ({ appliance: a, name: `compute-0-${i}` }));
    for (const [i, h] of hosts.entries()) {
      await ok('host', 'add', h.name, '--appliance', h.appliance, '--mac', `52:54:00:aa:01:0${i}`, '--ip', `10.1.255.${250 - i}`);
      const iscsi = {
        iscsi_initiator: `iqn.2026-11.local.netroot:init:${h.name}`,
        iscsi_target: `iqn.2026-11.local.netroot:${h.name}`,
        iscsi_portal: '10.1.1.1',
        iscsi_port: '3260',
        iscsi_lun: '0',
        iscsi_user: h.name,
        iscsi_secret: 'GrammarSecret123',
      };
      for (const [k, v] of Object.entries(iscsi)) await ok('attr', 'set', k, v, '--host', h.name);
    }
    const variants: Array<[string, Record<string, string>]> = [
      ['defaults', {}],
      [
        'liveimg, crypted root password',
        { Kickstart_LiveImage: 'http://10.1.1.1:8080/boot/files/images/rocky9/root.tar.gz', rootpw_crypted: '$6$salt$0123456789abcdefABCDEF./' },
      ],
      [
        'static, nfs, another locale',
        {
          Kickstart_Bootproto: 'static',
          Kickstart_InstallUrl: 'nfs://10.1.1.1/export/rocky',
          Kickstart_Lang: 'de_DE.UTF-8',
          Kickstart_Keyboard: 'de-nodeadkeys',
          Kickstart_Timezone: 'Etc/GMT+5',
          ntp_server: '',
        },
      ],
    ];
    const seen = new Set<string>();
    for (const [what, attrs] of variants) {
      for (const [k, v] of Object.entries(attrs)) await ok('attr', 'set', k, v);
      for (const h of hosts) {
        const ks = await ok('kickstart', h.name);
        valid(`${h.appliance} (${what})`, ks);
        for (const l of splitLines(ks.split('\n%')[0]!)) if (/^[a-z]/.test(l)) seen.add(shlexSplit(l, true)[0]!);
      }
      for (const k of Object.keys(attrs)) await ok('attr', 'unset', k);
    }
    // Every command the shipped roles can emit was rendered and checked.
    assert.deepEqual([...seen].sort(), [
      'autopart',
      'bootloader',
      'clearpart',
      'firewall',
      'ignoredisk',
      'iscsi',
      'iscsiname',
      'keyboard',
      'lang',
      'liveimg',
      'network',
      'part',
      'reboot',
      'rootpw',
      'selinux',
      'text',
      'timezone',
      'url',
      'zerombr',
    ]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

const GOOD =
  'lang en_US.UTF-8\nkeyboard us\ntimezone UTC --utc\nrootpw --lock\nurl --url=http://m/os\n%packages --ignoremissing\n@core\n-firewalld\n%end\n%post --erroronfail\necho ok\n%end\n';
const problems = (ks: string, v: Version = 'RHEL9') => kickstartProblems(ks, v).join('\n');

test('the grammar catches an unknown command, an unknown option, a missing value, a retired option, a section without %end', () => {
  assert.equal(problems(GOOD), '');
  assert.match(problems(GOOD.replace('keyboard us', 'keybord us')), /^line 2: keybord: unknown command$/);
  assert.match(problems(GOOD.replace('--utc', '--utc --localtime')), /^line 3: timezone --localtime: unknown option$/);
  assert.match(problems(GOOD.replace('--url=http://m/os', '--url=')), /^line 5: url --url: missing value$/);
  assert.match(problems(GOOD.replace('--url=http://m/os', '--url')), /^line 5: url --url: missing value$/);
  assert.match(problems('liveimg --noverifyssl\n'), /^line 1: liveimg --url: missing required option$/);
  assert.match(problems('iscsiname\n'), /^line 1: iscsiname: missing required argument$/);
  assert.match(problems('lang\n'), /^line 1: lang: missing required argument$/);
  // Deprecated and removed options and commands, per version (ksvalidator fails on both).
  const tz = GOOD.replace('--utc', '--isUtc');
  assert.equal(problems(tz, 'RHEL8'), '');
  assert.match(problems(tz, 'RHEL9'), /^line 3: timezone --isUtc: deprecated in RHEL9$/);
  assert.match(problems(tz, 'RHEL10'), /^line 3: timezone --isUtc: removed in RHEL10$/);
  assert.match(problems(tz, 'F45'), /^line 3: timezone --isUtc: deprecated in F45$/);
  assert.match(problems(GOOD.replace('--utc', '--utc --ntpservers=ntp1,ntp2'), 'RHEL10'), /timezone --ntpservers: removed in RHEL10/);
  assert.match(problems(GOOD.replace('--ignoremissing', '--ignoremissing --nobase'), 'RHEL8'), /^line 6: %packages --nobase: removed in RHEL8$/);
  assert.match(problems(GOOD.replace('--ignoremissing', '--inst-langs=en'), 'RHEL8'), /%packages --inst-langs: unknown option in RHEL8/);
  assert.equal(problems(GOOD.replace('--ignoremissing', '--inst-langs=en'), 'RHEL10'), '');
  assert.match(problems(`auth --useshadow\n${GOOD}`, 'RHEL8'), /^line 1: auth: deprecated in RHEL8$/);
  assert.match(problems(`authconfig --useshadow\n${GOOD}`, 'RHEL10'), /^line 1: authconfig: removed in RHEL10$/);
  assert.match(problems(`install\n${GOOD}`, 'RHEL9'), /^line 1: install: removed in RHEL9$/);
  assert.match(problems(`rootpw --allow-ssh --lock\n`, 'RHEL8'), /rootpw --allow-ssh: unknown option in RHEL8/);
  assert.equal(problems(`rootpw --allow-ssh --lock\n`, 'RHEL9'), '');
  // Sections.
  assert.match(problems(GOOD.replace(/%end\n$/, '')), /^line 10: %post: section does not end with %end$/);
  assert.match(
    problems(GOOD.replace('-firewalld\n%end\n', '-firewalld\n')),
    /^line 9: %packages: section opened on line 6 does not end with %end before %post$/,
  );
  assert.match(
    problems(GOOD.replace('echo ok', '  %end\nreboot --bogus')),
    /^line 12: reboot --bogus: unknown option$/m,
    'an indented %end still ends the section, as in pykickstart',
  );
  assert.match(problems(GOOD.replace('echo ok', '%include /tmp/part.ks')), /line 11: %post: a %include line is read by Anaconda as an include/);
  assert.match(problems('%packages\n%end\n%bogus\n%end\n'), /^line 3: %bogus: unknown section$/m);
  assert.match(problems('%pre --nochroot\n%end\n'), /^line 1: %pre --nochroot: unknown option$/);
});

test('the grammar reads lines and words the way pykickstart does', () => {
  assert.deepEqual(shlexSplit('url --url=http://a/b#c --noverifyssl', true), ['url', '--url=http://a/b'], '# cuts the line');
  assert.deepEqual(shlexSplit(`bootloader --append="console=ttyS0 quiet" x\\ y 'a"b'`, true), ['bootloader', '--append=console=ttyS0 quiet', 'x y', 'a"b']);
  assert.throws(() => shlexSplit(`url --url=http://a/it's`, true), /No closing quotation/);
  assert.deepEqual(splitLines('a\nb\u2028c\x85d\r\ne\n'), ['a', 'b', 'c', 'd', 'e']);
  assert.match(problems(`url --url=http://a/it's\n`), /^line 1: No closing quotation$/);
  assert.match(problems('timezone UTC --utc\u2028%pre\n'), /^line 2: %pre: section does not end with %end$/, 'U+2028 ends a line for Anaconda');
  assert.match(problems('lang en_US\nlang\n'), /^line 2: lang: missing required argument$/);
  assert.match(problems('network --bootproto=dhcp6\n'), /network --bootproto: "dhcp6" is not one of dhcp, bootp, static, query, ibft/);
  assert.match(problems('iscsi --ipaddr=10.0.0.1 --port=x\n'), /iscsi --port: "x" is not an integer/);
  assert.match(problems('selinux --permissive=yes\n'), /selinux --permissive: takes no value/);
  assert.match(problems('zerombr --all\n'), /zerombr --all: unknown option/);
  assert.match(problems('autopart\npart / --grow\n'), /^line 2: part: cannot be used with autopart \(line 1\)$/);
  assert.match(problems('part / --grow\npart / --size=1\n'), /^line 2: part: a partition with the mount point \/ is already defined$/);
  assert.match(
    problems('%packages\nbad name here\n- \n%end\n'),
    /line 2: %packages: "bad name here" is not a package[\s\S]*line 3: %packages: "-" is not a package/,
  );
  assert.equal(problems('%packages\n@Development Tools\n@^server-product-environment\nkernel* # the kernel\n%end\n'), '');
});
