// Node files written in Rocks' styles (issue #16): <file> with nested content, package groups and
// environments, Rocks tags netroot does not act on (warnings, once per tag), filters with phase and
// entity-encoded conds, and bad input reported all at once with file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';

const attrs = { hostname: 'c-0-0', arch: 'x86_64', os: 'linux', release: '9', rocks_version_major: '7', Kickstart_PrivateAddress: '10.1.255.254' };

test('<file> keeps its nested content: entities, CDATA, <eval> output, append, symbolic perms, owner forms, vars', () => {
  const { dir, compiler } = tree(
    {
      'roles/r/a.xml': node(`
<post>
<file name="/etc/hosts" mode="append" perms="u+rw,g+r,o-rwx" owner="root:root">
&Kickstart_PrivateAddress;	frontend &lt;private&gt; &amp; more
</file>
<file name="/etc/motd" owner="root.wheel" perms="0644"><eval shell="sh">echo built-by-eval</eval></file>
<file name="/etc/sh.conf" vars="expanded"><![CDATA[x=$HOME && <raw>]]> host=&hostname;</file>
<file name="/etc/none" owner="" perms="">keep</file>
</post>`),
      'graphs/g/g.xml': graph(''),
    },
    { allowEval: true },
  );
  const ks = compiler.render('a', attrs);
  assert.match(
    ks,
    /cat >> '\/etc\/hosts' << 'NETROOT_EOF'\n10\.1\.255\.254\tfrontend <private> & more\nNETROOT_EOF\nchmod u\+rw,g\+r,o-rwx '\/etc\/hosts'\nchown 'root:root' '\/etc\/hosts'/,
  );
  assert.match(
    ks,
    /cat > '\/etc\/motd' << 'NETROOT_EOF'\nbuilt-by-eval\nNETROOT_EOF\nchmod 0644 '\/etc\/motd'\nchown 'root:wheel' '\/etc\/motd'/,
    'the <eval> output is the file, not an empty file',
  );
  assert.match(ks, /cat > '\/etc\/sh\.conf' << NETROOT_EOF\nx=\$HOME && <raw> host=c-0-0\nNETROOT_EOF/);
  assert.match(ks, /cat > '\/etc\/none' << 'NETROOT_EOF'\nkeep\nNETROOT_EOF\n/);
  assert.doesNotMatch(ks, /ch(own|mod) [^\n]*'\/etc\/none'/, 'owner="" and perms="" mean none');
  rmSync(dir, { recursive: true });
  // Without profile.allowEval, an <eval> inside a <file> is refused with its place, not dropped.
  const off = tree({ 'roles/r/a.xml': node('<post>\n<file name="/etc/x"><eval>echo x</eval></file>\n</post>'), 'graphs/g/g.xml': graph('') });
  assert.throws(
    () => off.compiler.render('a', attrs),
    (e: Error & { code?: string }) => e.code === 'E_EVAL_DISABLED' && /a\.xml:4:/.test(e.message),
  );
  rmSync(off.dir, { recursive: true });
});

test('packages: @group, @^environment, meta groups and environments, group options; chroot="no"; phase', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
<package>@core</package>
<package>@^minimal-environment</package>
<package type="meta">^graphical-server-environment</package>
<package type="meta">Mail/WWW/News Tools</package>
<package>@development --optional</package>
<package>kernel-devel</package>
<post chroot="no">echo outside</post>
<post phase="reconfigure">echo reconfigure-only</post>
<post phase="post,reconfigure">echo post-too</post>
<pre cond="rocks_version_major &gt;= 7">echo seven</pre>
<pre cond="rocks_version_major &lt; 7">echo six</pre>`),
    'graphs/g/g.xml': graph(''),
  });
  const ks = compiler.render('a', attrs);
  const pkgs = ks.split('%packages --ignoremissing\n')[1]!.split('%end')[0]!.trim().split('\n');
  // Sorted by name without -, @ or @^, by code unit (upper case first).
  assert.deepEqual(pkgs, [
    '@Mail/WWW/News Tools',
    '@core',
    '@development --optional',
    '@^graphical-server-environment',
    'kernel-devel',
    '@^minimal-environment',
  ]);
  assert.match(ks, /%post --nochroot\necho outside\n%end/);
  assert.doesNotMatch(ks, /reconfigure-only/);
  assert.match(ks, /echo post-too/);
  assert.match(ks, /echo seven/);
  assert.doesNotMatch(ks, /echo six/);
  rmSync(dir, { recursive: true });
});

test('Rocks tags netroot does not act on are warnings, once per tag, never errors; the kickstart renders without them', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
<configure phase="reconfigure">echo c1</configure>
<screen><title>x</title></screen>
<main><install/><interactive/><reboot/></main>
<post>
echo post
<service name="x" enabled="yes"/>
</post>`),
    'roles/r/b.xml': node('<configure>echo c2</configure>\n<main><interactive/></main>'),
    'graphs/g/g.xml': graph('<edge from="a" to="b"/>'),
  });
  assert.deepEqual(compiler.check(), []);
  const w = compiler.warnings();
  assert.deepEqual(
    w.map((x) => x.code),
    ['W_IGNORED_TAG', 'W_IGNORED_TAG', 'W_IGNORED_TAG', 'W_IGNORED_TAG', 'W_IGNORED_TAG'],
  );
  const text = w.map((x) => x.message).join('\n');
  assert.match(text, /a\.xml:4: ignored: <configure> is a Rocks tag netroot does not act on \(2 uses; first here\)/);
  assert.match(text, /a\.xml:5: ignored: <screen> .*\(1 use; first here\)/);
  assert.match(text, /a\.xml:6: ignored: <main><install> is not a RHEL 8\/9 kickstart command \(1 use/);
  assert.match(text, /ignored: <main><interactive> .*\(2 uses/);
  assert.match(text, /a\.xml:9: ignored: <service>/);
  const ks = compiler.render('a', attrs);
  assert.match(ks, /^reboot$/m);
  assert.doesNotMatch(ks, /^(install|interactive)$|echo c1|echo c2/m);
  rmSync(dir, { recursive: true });
});

test('bad input: malformed file, unknown <main> tag, bad cond, bad perms/owner — every one at once, with file, line and attribute', () => {
  const { dir, compiler } = tree({
    'roles/r/ok.xml': node('<post>echo ok</post>'),
    'roles/r/malformed.xml': '<?xml version="1.0"?>\n<kickstart>\n<post>\n<file name="/x">\n</post>\n</kickstart>\n',
    'roles/r/main.xml': node('<main>\n<rebot/>\n<lang>en_US</lang>\n</main>'),
    'roles/r/cond.xml': node('<post cond="rocks_version_major &gt;">x</post>\n<package cond="a is">p</package>'),
    'roles/r/file.xml': node('<post>\n<file name="/x" perms="rwx" owner="root root">x</file>\n<file name="/y"><bogus/></file>\n</post>'),
    'roles/r/empty.xml': '',
    'roles/r/text.xml': node('stray text'),
    'graphs/g/g.xml': graph('<edge from="ok" to="ok"/>'),
  });
  const problems = compiler.check();
  const got = problems.map((p) => `${p.code} ${(p.where ?? '').replace(/^.*\/roles\/r\//, '')}`).sort();
  assert.deepEqual(got, [
    'E_COND_SYNTAX cond.xml:3',
    'E_COND_SYNTAX cond.xml:4',
    'E_XML_FILE_OWNER file.xml:4',
    'E_XML_FILE_PERMS file.xml:4',
    'E_XML_MAIN main.xml:4',
    'E_XML_MALFORMED empty.xml:1',
    'E_XML_MALFORMED malformed.xml:5',
    'E_XML_TEXT text.xml:2',
    'E_XML_UNKNOWN_TAG file.xml:5',
  ]);
  const msg = problems.map((p) => p.message).join('\n');
  assert.match(msg, /cond\.xml:3: bad cond "rocks_version_major >": unexpected end/);
  assert.match(msg, /file\.xml:4: <file perms="rwx">/);
  assert.match(msg, /file\.xml:4: <file owner="root root">/);
  assert.match(msg, /main\.xml:4: <main><rebot>: not a kickstart command/);
  assert.match(msg, /file\.xml:5: unknown tag <bogus> inside a <file>/);
  // None of them is on ok's way: ok renders.
  assert.match(compiler.render('ok', attrs), /^echo ok$/m);
  rmSync(dir, { recursive: true });
});

test('the same node file in two rolls is one node (a warning); different content is an error for the appliances that reach it', () => {
  const same = node('<log>$Log: client.xml,v $</log>\n<post>echo client</post>');
  const { dir, compiler } = tree({
    'roles/base/client.xml': same,
    'roles/core/client.xml': same,
    'roles/base/compute.xml': node('<post>echo compute-base</post>'),
    'roles/core/compute.xml': node('<post>echo compute-core</post>'),
    'roles/core/nas.xml': node('<post>echo nas</post>'),
    'graphs/g/g.xml': graph('<edge from="compute" to="client"/>\n<edge from="nas" to="client"/>'),
  });
  const r = compiler.report([
    { name: 'compute', rootNode: 'compute' },
    { name: 'nas', rootNode: 'nas' },
  ]);
  assert.deepEqual(
    r.appliances.get('compute')!.map((p) => p.code),
    ['E_NODE_DUPLICATE'],
  );
  assert.match(
    r.appliances.get('compute')![0]!.message,
    /core\/compute\.xml: node compute is defined twice with different content \(also .*base\/compute\.xml\)/,
  );
  assert.deepEqual(r.appliances.get('nas'), []);
  assert.deepEqual(
    r.warnings.map((p) => p.code),
    ['W_NODE_DUPLICATE'],
  );
  assert.match(compiler.render('nas', attrs), /^echo client$/m);
  assert.equal((compiler.render('nas', attrs).match(/^echo client$/gm) ?? []).length, 1, 'one node, one script');
  rmSync(dir, { recursive: true });
});

test("%include in a <main> command (Rocks' <install>%include /tmp/partition-info</install>) is kept as its own command line, the obsolete command ignored", () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
<main>
<install>
%include /tmp/partition-info
</install>
<reboot/>
<bootloader cond="arch == 'x86_64'">--location=mbr
%include /tmp/bootloader-extra
</bootloader>
<lang>en_US.UTF-8</lang>
</main>
<main cond="arch == 'aarch64'"><install>%include /tmp/never</install></main>`),
    'graphs/g/g.xml': graph(''),
  });
  const ks = compiler.render('a', attrs);
  const lines = ks.split('\n');
  assert.ok(lines.includes('%include /tmp/partition-info'), ks);
  assert.ok(lines.includes('%include /tmp/bootloader-extra'), ks);
  assert.ok(lines.includes('bootloader --location=mbr'), 'the command keeps its own text, without the %include line');
  assert.ok(!lines.some((l) => /^install\b/.test(l)), 'install is not a RHEL 8/9 command');
  assert.ok(!ks.includes('/tmp/never'), 'a <main> filter applies to the %include it holds');
  const report = compiler.report([{ name: 'a', rootNode: 'a' }]);
  assert.ok(
    report.warnings.some((w) => w.code === 'W_IGNORED_TAG' && /<main><install>/.test(w.message)),
    'the obsolete <install> is still reported',
  );
  rmSync(dir, { recursive: true });
});
