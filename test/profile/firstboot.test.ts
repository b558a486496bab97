// <firstboot> (issue #20): a golden clone's first-boot shell, in node XML. The same traversal,
// filters, entities and <var>s as the kickstart; not part of the kickstart; each block in a subshell
// or through its interpreter; bad interpreters and a here-document end line refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';
import { isNetrootError } from '../../src/errors.js';

const attrs = { hostname: 'c-0-3', arch: 'x86_64', os: 'linux', release: '9', appliance: 'a', site: 'lab' };

test('<firstboot> blocks render in node order with filters, entities and vars; the kickstart does not carry them', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node(`
  <var name="greeting" val="hello &hostname;"/>
  <firstboot>echo "&greeting;" > /etc/motd</firstboot>
  <firstboot arch="aarch64">echo never</firstboot>
  <firstboot cond="site == 'lab'" interpreter="/usr/bin/python3">print("lab &hostname;")</firstboot>
  <post>echo post &install_token;</post>`),
    'roles/r/b.xml': node(`<firstboot>
systemctl enable --now b.service
</firstboot>`),
    'roles/r/c.xml': node('<firstboot>   </firstboot>'),
    'graphs/g/g.xml': graph('<edge from="a" to="b"/><edge from="a" to="c"/><order head="b" tail="a"/>'),
  });
  try {
    const fb = compiler.firstboot('a', attrs);
    assert.equal(
      fb,
      [
        '# node: b\n(\nsystemctl enable --now b.service\n) || echo "netroot-firstboot: node b failed (status $?)"\n',
        '# node: a\n(\necho "hello c-0-3" > /etc/motd\n) || echo "netroot-firstboot: node a failed (status $?)"\n',
        `# node: a\n/usr/bin/python3 <<'NETROOT_FIRSTBOOT_EOF' || echo "netroot-firstboot: node a failed (status $?)"\nprint("lab c-0-3")\nNETROOT_FIRSTBOOT_EOF\n`,
      ].join('\n'),
    );
    // No install token is needed for it, and the kickstart has none of it.
    const ks = compiler.render('a', { ...attrs, install_token: 'T' });
    assert.doesNotMatch(ks, /motd|b\.service|firstboot/i);
    assert.match(ks, /echo post T/);
    // It is valid shell, and a failing block does not stop the next.
    const run = spawnSync('sh', ['-n', '-c', fb]);
    assert.equal(run.status, 0, String(run.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing <firstboot> block is reported and the next one runs', () => {
  const { dir, compiler } = tree({
    'roles/r/a.xml': node('<firstboot>echo one; exit 3</firstboot><firstboot>echo two</firstboot>'),
    'graphs/g/g.xml': graph(''),
  });
  try {
    const r = spawnSync('sh', ['-c', compiler.firstboot('a', attrs)], { encoding: 'utf8' });
    assert.equal(r.stdout, 'one\nnetroot-firstboot: node a failed (status 3)\ntwo\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('<firstboot> refusals: an undefined entity, an unknown attribute, an interpreter that is not one path, the here-document end line', () => {
  const cases: Array<[string, string]> = [
    ['<firstboot>echo &nosuch;</firstboot>', 'E_XML_ENTITY'],
    ['<firstboot arg="x">echo</firstboot>', 'E_XML_UNKNOWN_ATTR'],
    ['<firstboot interpreter="/bin/sh -x">echo</firstboot>', 'E_XML_FIRSTBOOT'],
    ['<firstboot interpreter="/bin/sh">echo\nNETROOT_FIRSTBOOT_EOF\nrm -rf /</firstboot>', 'E_XML_FIRSTBOOT'],
  ];
  for (const [body, code] of cases) {
    const { dir, compiler } = tree({ 'roles/r/a.xml': node(body), 'graphs/g/g.xml': graph('') });
    try {
      assert.throws(
        () => compiler.firstboot('a', attrs),
        (e: unknown) => isNetrootError(e) && (e.code === code || JSON.stringify(e).includes(code)),
        body,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
