import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tree, node, graph } from './helpers.js';

const attrs = { hostname: 'c-0-0', arch: 'x86_64', os: 'linux', release: '9', tz: 'Asia/Tokyo', appliance: 'a' };

test('every tag: package (meta, disable, filters), main, pre/post (interpreter, arg), file, var, include, ignored text tags', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
  <description>ignored</description><copyright>ignored</copyright><changelog>ignored</changelog>
  <var name="who" val="&hostname;-x"/>
  <var name="copy" ref="tz"/>
  <package>zsh</package>
  <package type="meta">core</package>
  <package disable="true">firewalld</package>
  <package arch="aarch64">arm-only</package>
  <package cond="tz == 'Asia/Tokyo'">tokyo-fonts</package>
  <package os="linux" release="8">el8-only</package>
  <main>
    <timezone>&copy; --utc</timezone>
    <lang cond="missing">xx</lang>
    <reboot/>
  </main>
  <pre>echo pre &who; &amp;&amp; true</pre>
  <pre interpreter="/usr/bin/python3">print("py")</pre>
  <post arg="--nochroot">cp /etc/resolv.conf /mnt/sysimage/etc/</post>
  <post arch="aarch64">never</post>
  <post>
<file name="/etc/one" perms="0640" owner="root.wheel">literal $HOME &hostname;</file>
<file name="/etc/two" vars="expanded" mode="append">expanded $HOME</file>
<file name="/etc/empty"/>
<file name="/etc/gen" expr="date +%s"/>
<file name="/etc/skip" cond="missing">x</file>
<![CDATA[echo raw &notanentity; <tag>]]>
<include file="snippet.sh"/>
  </post>`),
    'include/snippet.sh': 'echo included\n',
    'graphs/g/g.xml': graph('<edge from="a" to="a"/>'),
  });
  const ks = compiler.render('a', attrs);
  assert.match(ks, /^timezone Asia\/Tokyo --utc$/m);
  assert.doesNotMatch(ks, /^lang /m);
  assert.match(ks, /^reboot$/m);
  const pkgs = ks.split('%packages --ignoremissing\n')[1]!.split('%end')[0]!.trim().split('\n');
  assert.deepEqual(pkgs, ['@core', '-firewalld', 'tokyo-fonts', 'zsh']);
  assert.match(ks, /%pre\necho pre c-0-0-x && true\n%end/);
  assert.match(ks, /%pre --interpreter=\/usr\/bin\/python3\nprint\("py"\)\n%end/);
  assert.match(ks, /%post --nochroot\ncp \/etc\/resolv.conf \/mnt\/sysimage\/etc\/\n%end/);
  assert.doesNotMatch(ks, /never/);
  assert.match(ks, /cat > '\/etc\/one' << 'NETROOT_EOF'\nliteral \$HOME c-0-0\nNETROOT_EOF\nchmod 0640 '\/etc\/one'\nchown 'root:wheel' '\/etc\/one'/);
  assert.match(ks, /cat >> '\/etc\/two' << NETROOT_EOF\nexpanded \$HOME\nNETROOT_EOF/);
  assert.match(ks, /: > '\/etc\/empty'/);
  assert.match(ks, /date \+%s > '\/etc\/gen'/);
  assert.doesNotMatch(ks, /\/etc\/skip/);
  assert.match(ks, /echo raw &notanentity; <tag>/);
  assert.match(ks, /echo included/);
  // every %pre/%post closes with %end
  assert.equal((ks.match(/^%(pre|post|packages)/gm) ?? []).length, (ks.match(/^%end$/gm) ?? []).length);
  rmSync(dir, { recursive: true });
});

test('<eval> is refused unless the operator enables it; then its output replaces the tag', () => {
  const files = { 'roles/r/a.xml': node('<post><eval shell="sh">echo evaluated-on-frontend</eval></post>'), 'graphs/g/g.xml': graph('') };
  const off = tree(files);
  assert.throws(
    () => off.compiler.render('a', attrs),
    (e: Error & { code?: string }) => e.code === 'E_EVAL_DISABLED' && /a\.xml:\d+/.test(e.message),
  );
  const on = tree(files, { allowEval: true });
  assert.match(on.compiler.render('a', attrs), /^evaluated-on-frontend$/m);
  rmSync(off.dir, { recursive: true });
  rmSync(on.dir, { recursive: true });
});

test('<include> cannot leave the include directory', () => {
  const { dir, compiler } = tree({ 'roles/r/a.xml': node('<post><include file="../roles/r/a.xml"/></post>'), 'graphs/g/g.xml': graph(''), 'include/x': 'x' });
  assert.throws(() => compiler.render('a', attrs), { code: 'E_INCLUDE_OUTSIDE' });
  rmSync(dir, { recursive: true });
});

test('an undefined entity is an error naming file, line and the attribute', () => {
  const { dir, compiler } = tree({ 'roles/r/a.xml': node('<post>\necho ok\n</post>\n<post>\necho &Nope_Undefined;\n</post>'), 'graphs/g/g.xml': graph('') });
  assert.throws(
    () => compiler.render('a', attrs),
    (e: Error & { code?: string }) => e.code === 'E_XML_ENTITY' && /roles\/r\/a\.xml:6: undefined entity &Nope_Undefined;/.test(e.message),
  );
  rmSync(dir, { recursive: true });
});

test('entity bombs, DOCTYPEs, huge files and malformed XML are refused with file:line', () => {
  const bomb =
    '<?xml version="1.0"?>\n<!DOCTYPE kickstart [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n<kickstart><post>&b;</post></kickstart>';
  const { dir, compiler } = tree({
    'roles/r/bomb.xml': bomb,
    'roles/r/bad.xml': '<kickstart>\n<post>\n</pre>\n</kickstart>',
    'roles/r/big.xml': node(`<post>${'x'.repeat(2 * 1024 * 1024)}</post>`),
    'graphs/g/g.xml': graph(''),
  });
  const problems = compiler.check();
  const text = problems.map((p) => `${p.code} ${p.message}`).join('\n');
  assert.match(text, /E_XML_ENTITY .*bomb\.xml:2: <!DOCTYPE> declarations are refused/);
  assert.match(text, /E_XML_MALFORMED .*bad\.xml:3: malformed XML/);
  assert.match(text, /E_FILE_TOO_LARGE .*big\.xml/);
  rmSync(dir, { recursive: true });
});

test('extend-<name>.xml appends, replace-<name>.xml replaces (site directory first)', () => {
  const files = {
    'roles/r/a.xml': node('<package>shipped</package><post>echo shipped</post>'),
    'roles/r/b.xml': node('<package>b-shipped</package>'),
    'site/extend-a.xml': node('<package>site-extra</package><post>echo extended</post>'),
    'site/replace-b.xml': node('<package>b-site</package>'),
    'graphs/g/g.xml': graph('<edge from="a" to="b"/>'),
  };
  const { dir, compiler } = tree(files);
  const ks = compiler.render('a', attrs);
  assert.match(ks, /^shipped$/m);
  assert.match(ks, /^site-extra$/m);
  assert.match(ks, /echo shipped\n%end[\s\S]*echo extended\n%end/);
  assert.match(ks, /^b-site$/m);
  assert.doesNotMatch(ks, /b-shipped/);
  rmSync(dir, { recursive: true });
});

test('the parse is cached and re-read only when a file changes', () => {
  const { dir, compiler } = tree({ 'roles/r/a.xml': node('<package>one</package>'), 'graphs/g/g.xml': graph('') });
  assert.match(compiler.render('a', attrs), /^one$/m);
  mkdirSync(join(dir, 'roles', 'r'), { recursive: true });
  writeFileSync(join(dir, 'roles', 'r', 'a.xml'), node('<package>two-changed</package>'));
  assert.match(compiler.render('a', attrs), /^two-changed$/m);
  rmSync(dir, { recursive: true });
});

test('an undefined entity in a site extend- file names that file and its line, not the shipped one', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node('<post>echo shipped</post>'),
    'site/extend-a.xml': node('<package>ok</package>\n<post>\necho &Site_Undefined;\n</post>'),
    'graphs/g/g.xml': graph(''),
  });
  assert.throws(
    () => compiler.render('a', attrs),
    (e: Error & { code?: string }) => e.code === 'E_XML_ENTITY' && /site\/extend-a\.xml:4: undefined entity &Site_Undefined;/.test(e.message),
  );
  rmSync(dir, { recursive: true });
});

test('character references: valid ones expand, out-of-range ones are E_XML_ENTITY with file:line (no crash)', () => {
  const ok = tree({ 'roles/r/a.xml': node('<post>echo &#65;&#x42;&lt;&amp;</post>'), 'graphs/g/g.xml': graph('') });
  assert.match(ok.compiler.render('a', attrs), /^echo AB<&$/m);
  rmSync(ok.dir, { recursive: true });
  for (const ref of ['&#x110000;', '&#0;', '&#xD800;', '&#9999999;']) {
    const bad = tree({ 'roles/r/a.xml': node(`<post>echo ${ref}</post>`), 'graphs/g/g.xml': graph('') });
    assert.throws(
      () => bad.compiler.render('a', attrs),
      (e: Error & { code?: string }) => e.code === 'E_XML_ENTITY' && /a\.xml:3: character reference/.test(e.message),
      ref,
    );
    rmSync(bad.dir, { recursive: true });
  }
});

test('attribute values are inserted once: an entity inside a value is not expanded again (no expansion bomb)', () => {
  const { dir, compiler } = tree({ 'roles/r/a.xml': node('<post>echo &bomb;</post>'), 'graphs/g/g.xml': graph('') });
  const ks = compiler.render('a', { ...attrs, bomb: '&bomb;&bomb;&hostname;' });
  assert.match(ks, /^echo &bomb;&bomb;&hostname;$/m);
  rmSync(dir, { recursive: true });
});

test('the whole-graph parse is reused while no file changed (same size and mtime → old text), re-read when one did', () => {
  const { dir, compiler } = tree({ 'roles/r/a.xml': node('<package>aaaa</package>'), 'graphs/g/g.xml': graph('') });
  const file = join(dir, 'roles', 'r', 'a.xml');
  const t = 1_700_000_000; // whole seconds: a timestamp utimes can restore exactly
  utimesSync(file, t, t);
  assert.match(compiler.render('a', attrs), /^aaaa$/m);
  writeFileSync(file, node('<package>bbbb</package>'));
  utimesSync(file, t, t);
  assert.match(compiler.render('a', attrs), /^aaaa$/m, 'served from the cached parse, the file was not read again');
  utimesSync(file, t, t + 5);
  assert.match(compiler.render('a', attrs), /^bbbb$/m, 'a changed mtime makes it re-read');
  rmSync(dir, { recursive: true });
});

test('tag errors name file:line: missing include, <var> without val/ref, failing <eval>, bad <file> attributes', () => {
  const render = (body: string, extra = {}) => {
    const { dir, compiler } = tree({ 'roles/r/a.xml': node(body), 'graphs/g/g.xml': graph('') }, extra);
    try {
      return compiler.render('a', attrs);
    } finally {
      rmSync(dir, { recursive: true });
    }
  };
  const fails = (body: string, code: string, extra = {}) =>
    assert.throws(
      () => render(body, extra),
      (e: Error & { code?: string; problems?: Array<{ code: string; message: string }> }) => {
        const all = e.problems ?? [e as { code: string; message: string }];
        return all.some((p) => p.code === code && /roles\/r\/a\.xml:3: /.test(p.message));
      },
      `${code}: ${body}`,
    );
  fails('<post><include file="nope.sh"/></post>', 'E_INCLUDE_MISSING');
  fails('<var name="x"/>', 'E_XML_VAR');
  fails('<var ref="x"/>', 'E_XML_VAR');
  fails('<var name="x" ref="Not_Defined"/>', 'E_XML_ENTITY');
  fails('<post><eval shell="sh">exit 3</eval></post>', 'E_EVAL_FAILED', { allowEval: true });
  fails('<post><file name="/x" mode="truncate">y</file></post>', 'E_XML_FILE_MODE');
  fails('<post><file name="/x" vars="maybe">y</file></post>', 'E_XML_FILE_VARS');
  fails('<post><file name="/x" perms="rwx">y</file></post>', 'E_XML_FILE_PERMS');
  fails('<post><file name="/x" owner="root;rm -rf /">y</file></post>', 'E_XML_FILE_OWNER');
  fails('<post><file name="relative/path">y</file></post>', 'E_XML_FILE_NAME');
  fails('<post><bogus/></post>', 'E_XML_UNKNOWN_TAG');
  fails('<package></package>', 'E_XML_PACKAGE');
  fails('<main><Bad_Command/></main>', 'E_XML_MAIN');
});

test('deeply nested XML and unreadable node files are reported with the file, never thrown raw', () => {
  const { dir, compiler } = tree({
    'roles/r/deep.xml': `<kickstart>${'<post>'.repeat(5000)}${'</post>'.repeat(5000)}</kickstart>`,
    'graphs/g/g.xml': graph(''),
  });
  mkdirSync(join(dir, 'roles', 'r', 'adir.xml'));
  const problems = compiler.check();
  assert.ok(
    problems.every((p) => typeof p.code === 'string' && p.user),
    problems.map((p) => p.message).join('\n'),
  );
  assert.deepEqual(
    problems.map((p) => [p.code, p.where?.replace(dir + '/', '')]).sort(),
    [
      ['E_XML_MALFORMED', 'roles/r/deep.xml'],
      ['E_XML_READ', 'roles/r/adir.xml'],
    ].sort(),
  );
  rmSync(dir, { recursive: true });
});

test('site directory: a misnamed file and an extend- of a node that does not exist are reported', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(''),
    'site/extnd-a.xml': node('<package>typo</package>'),
    'site/extend-ghost.xml': node('<package>x</package>'),
    'site/replace-a.xml': node('<package>fine</package>'),
    'graphs/g/g.xml': graph(''),
  });
  const got = compiler.check().map((p) => [p.code, p.where?.replace(dir + '/', '')]);
  assert.deepEqual(got.sort(), [
    ['E_NODE_MISSING', 'site/extend-ghost.xml'],
    ['E_SITE_FILE', 'site/extnd-a.xml'],
  ]);
  rmSync(dir, { recursive: true });
});

test('"<!DOCTYPE" inside CDATA or a comment is text, not a declaration; outside them it is refused', () => {
  const ok = tree({
    'roles/r/a.xml': node('<!-- <!DOCTYPE x> in a comment -->\n<post><![CDATA[cat > /var/www/index.html << EOF\n<!DOCTYPE html>\nEOF]]></post>'),
    'graphs/g/g.xml': graph(''),
  });
  assert.match(ok.compiler.render('a', attrs), /^<!DOCTYPE html>$/m);
  rmSync(ok.dir, { recursive: true });
  const bad = tree({ 'roles/r/a.xml': '<?xml version="1.0"?>\n<!-- fine -->\n<!ENTITY x "y">\n<kickstart/>\n', 'graphs/g/g.xml': graph('') });
  assert.deepEqual(
    bad.compiler.check().map((p) => [p.code, p.where?.replace(bad.dir + '/', '')]),
    [['E_XML_ENTITY', 'roles/r/a.xml:3']],
  );
  rmSync(bad.dir, { recursive: true });
});

test('<include> of a directory or a huge file is a UserError with file:line, not a crash', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node('<post><include file="adir"/></post>'),
    'roles/r/b.xml': node('<post><include file="big"/></post>'),
    'include/adir/x': 'x',
    'include/big': 'y'.repeat(1024 * 1024 + 1),
    'graphs/g/g.xml': graph(''),
  });
  assert.throws(
    () => compiler.render('a', attrs),
    (e: Error & { code?: string }) => e.code === 'E_INCLUDE_MISSING' && /a\.xml:3: .*EISDIR/.test(e.message),
  );
  assert.throws(
    () => compiler.render('b', attrs),
    (e: Error & { code?: string }) => e.code === 'E_FILE_TOO_LARGE' && /b\.xml:3: /.test(e.message),
  );
  rmSync(dir, { recursive: true });
});
