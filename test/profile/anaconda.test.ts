// Kickstart output is valid Anaconda syntax: the golden kickstarts of the shipped roles and a
// profile that uses every tag pass the independent checker in anaconda.ts; the checker itself
// rejects the mistakes it exists to catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { anacondaProblems } from './anaconda.js';
import { tree, node, graph } from './helpers.js';

test('the Anaconda checker rejects a missing %end, commands after sections, bad options, unsorted packages', () => {
  assert.deepEqual(anacondaProblems('lang en_US\n%packages\nacl\nzsh\n%end\n%post --nochroot\necho\n%end\n'), []);
  const bad: Array<[string, RegExp]> = [
    ['%pre\necho\n%post\necho\n%end\n', /%post starts inside %pre/],
    ['%post\necho\n', /not closed with %end/],
    ['%packages\nzsh\nacl\n%end\n', /not sorted: zsh before acl/],
    ['%packages\nacl\nacl\n%end\n', /duplicates/],
    ['%packages\n%end\nreboot\n', /command "reboot" after the first section/],
    ['%pre --nochroot\n%end\n', /%pre does not take the option --nochroot/],
    ['%end\n', /%end without an open section/],
    ['Reboot!\n', /not a kickstart command/],
    ['%packages\nbad name$\n%end\n', /not a package entry/],
  ];
  for (const [ks, re] of bad) assert.match(anacondaProblems(ks).join('\n'), re, ks);
});

test('golden kickstarts (compute, compute-diskless) are valid Anaconda syntax', () => {
  for (const name of ['compute', 'compute-diskless']) {
    const ks = readFileSync(`test/golden/kickstart/${name}.ks`, 'utf8');
    assert.deepEqual(anacondaProblems(ks), [], name);
    assert.match(ks, /^%packages --ignoremissing$/m);
  }
});

test('a profile using every section kind renders valid Anaconda syntax, %packages sorted by name', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
  <package>zsh</package><package type="meta">base-x</package><package disable="y">abrt</package><package>Acl</package><package>mdadm</package>
  <main><lang>en_US</lang><reboot/></main>
  <pre>echo one</pre><pre interpreter="/usr/bin/python3">print(1)</pre>
  <post arg="--nochroot">echo two</post><post>
<file name="/etc/x" perms="0600">data
</file></post>`),
    'roles/r/b.xml': node('<package>bash</package><post>echo b</post>'),
    'graphs/g/g.xml': graph('<edge from="a" to="b"/>'),
  });
  try {
    const ks = compiler.render('a', { hostname: 'h', arch: 'x86_64', os: 'linux', release: '9' });
    const problems = anacondaProblems(ks);
    assert.deepEqual(problems, []);
    const pkgs = ks.split('%packages --ignoremissing\n')[1]!.split('\n%end')[0]!.split('\n');
    assert.deepEqual(pkgs, ['Acl', '-abrt', '@base-x', 'bash', 'mdadm', 'zsh'], 'by code unit, ignoring - and @');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a script line that Anaconda would read as %end, a section header or %include (leading blanks too) is refused with file:line', () => {
  for (const line of ['%end', '%packages', '%post --nochroot', '  %end', '\t%pre', '%include /tmp/part.ks']) {
    const { dir, compiler } = tree({ 'roles/r/a.xml': node(`<post>\n<file name="/etc/x">\nok\n${line}\n</file>\n</post>`), 'graphs/g/g.xml': graph('') });
    try {
      assert.throws(
        () => compiler.render('a', { hostname: 'h' }),
        (e: Error & { code?: string }) => e.code === 'E_KS_SECTION_LINE' && /roles\/r\/a\.xml:3: /.test(e.message),
        line,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test('attribute values cannot inject kickstart lines: packages, script args and main commands refuse newlines', () => {
  const files = {
    'roles/r/a.xml': node('<package>&pkg;</package>'),
    'roles/r/b.xml': node('<post arg="&arg;">echo</post>'),
    'roles/r/c.xml': node('<main><timezone>&tz;</timezone></main>'),
    'graphs/g/g.xml': graph(''),
  };
  const { dir, compiler } = tree(files);
  try {
    const evil = 'x\n%end\n%pre\nrm -rf /';
    assert.throws(
      () => compiler.render('a', { pkg: evil }),
      (e: Error & { code?: string }) => e.code === 'E_XML_PACKAGE' && /a\.xml:3/.test(e.message),
    );
    assert.equal(/^pkg-ok$/m.test(compiler.render('a', { pkg: 'pkg-ok' })), true);
    assert.throws(() => compiler.render('b', { arg: '--nochroot\n%packages' }), { code: 'E_XML_SCRIPT_ARG' });
    // A main command's attribute is checked for its place (kickstart-attributes.ts): refused by name.
    assert.throws(
      () => compiler.render('c', { tz: 'UTC\n%pre\nreboot' }),
      (e: Error & { code?: string; where?: string }) => e.code === 'E_KICKSTART_ATTRIBUTE' && e.where === 'tz' && /c\.xml:3\)$/.test(e.message),
    );
    const ks = compiler.render('c', { tz: 'Europe/Paris' });
    assert.match(ks, /^timezone Europe\/Paris$/m);
    assert.deepEqual(anacondaProblems(ks), []);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
