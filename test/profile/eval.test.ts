// <eval> as Rocks has it (profile.allowEval on): the node's attributes in the shell's environment
// (dotted names with `_`, secret-named ones left out), and mode="xml" output parsed as node XML
// again and rendered in place; malformed output names the node file, line and <eval>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tree, node, graph } from './helpers.js';

const attrs = {
  hostname: 'compute-0-4',
  appliance: 'compute',
  arch: 'x86_64',
  os: 'linux',
  release: '9',
  'os.version': '9.4',
  rack: '0',
  iscsi_secret: 'Do-Not-Export-Me',
  Kickstart_Password: 'nope',
  'bad-name': 'x',
};

function render(body: string, extra = { allowEval: true }): string {
  const { dir, compiler } = tree({ 'roles/site/a.xml': node(body), 'graphs/g/g.xml': graph('') }, extra);
  try {
    return compiler.render('a', attrs);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

function fails(body: string, check: (e: Error & { code?: string; where?: string }) => boolean): void {
  const { dir, compiler } = tree({ 'roles/site/a.xml': node(body), 'graphs/g/g.xml': graph('') }, { allowEval: true });
  try {
    assert.throws(
      () => compiler.render('a', attrs),
      (e: Error & { code?: string; where?: string }) => {
        assert.ok(check(e), `${e.code} ${e.where} ${e.message}`);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test('the eval shell sees the attributes as environment variables; dotted names with _, secrets and non-identifiers left out', () => {
  const ks = render(`<post><eval shell="sh">
echo "host=$hostname app=$appliance osv=$os_version"
echo "secret=[\${iscsi_secret:-}] pw=[\${Kickstart_Password:-}]"
env | grep -c '^bad' || true
</eval></post>`);
  assert.match(ks, /^host=compute-0-4 app=compute osv=9\.4$/m);
  assert.match(ks, /^secret=\[\] pw=\[\]$/m);
  assert.match(ks, /^0$/m);
  assert.doesNotMatch(ks, /Do-Not-Export-Me/);
});

test('mode="xml" inside a script: the output is node XML (text, <file>, entities) rendered in place', () => {
  const ks = render(`<post>
echo before
<eval shell="sh" mode="xml"><![CDATA[
printf 'echo from-eval-\\046hostname;\\n'
echo '<file name="/etc/rack">rack '"$rack"'</file>'
]]></eval>
echo after
</post>`);
  assert.match(ks, /^echo before$/m);
  assert.match(ks, /^echo from-eval-compute-0-4$/m);
  assert.match(ks, /cat > '\/etc\/rack' << 'NETROOT_EOF'\nrack 0\nNETROOT_EOF/);
  assert.ok(ks.indexOf('echo before') < ks.indexOf('from-eval') && ks.indexOf('/etc/rack') < ks.indexOf('echo after'));
});

test('mode="quote" (the default) keeps the output as text, markup included', () => {
  const ks = render(`<post><eval shell="sh" mode="quote">echo '&lt;b&gt;'</eval></post>`);
  assert.match(ks, /^<b>$/m);
});

test('mode="xml" at the top level: bare elements or a <kickstart> fragment add packages and scripts in place', () => {
  const ks = render(`<package>first</package>
<eval shell="sh" mode="xml"><![CDATA[
echo '<package>from-eval-bare</package>'
echo "<post>echo post-from-eval $appliance</post>"
]]></eval>
<eval shell="sh" mode="xml"><![CDATA[
echo '<?xml version="1.0"?>'
printf '<kickstart><var name="v" val="\\046hostname;-v"/><package>pkg-\\046v;</package></kickstart>\\n'
]]></eval>
<post>echo last</post>`);
  assert.match(ks, /^from-eval-bare$/m);
  assert.match(ks, /^pkg-compute-0-4-v$/m);
  assert.match(ks, /^first$/m);
  assert.ok(ks.indexOf('post-from-eval') < ks.indexOf('echo last'));
});

test('malformed or invalid mode="xml" output is E_EVAL_XML naming the node file, the <eval> line and <eval>', () => {
  const at = (e: Error & { code?: string; where?: string }) =>
    e.code === 'E_EVAL_XML' && /a\.xml:4$/.test(e.where ?? '') && /<eval mode="xml">/.test(e.message);
  fails('<post>\n<eval shell="sh" mode="xml"><![CDATA[echo "<file name=/x>unclosed"]]></eval></post>', at);
  fails('<post>\n<eval shell="sh" mode="xml"><![CDATA[echo "<bogus/>"]]></eval></post>', (e) => at(e) && /bogus/.test(e.message));
  fails('\n<eval shell="sh" mode="xml"><![CDATA[echo "<package>a</package><nope/>"]]></eval>', (e) => at(e) && /nope/.test(e.message));
  fails('\n<eval shell="sh" mode="xml"><![CDATA[echo "<!DOCTYPE x>"]]></eval>', at);
  // Inside a <file>, the output may not open another <file> (a heredoc inside a heredoc).
  fails(
    '<post><file name="/etc/x">\n<eval shell="sh" mode="xml"><![CDATA[echo "<file name=\\"/y\\">z</file>"]]></eval></file></post>',
    (e) => at(e) && /<file> inside a <file>/.test(e.message),
  );
  // A top-level <eval> only makes sense as node XML.
  const { dir, compiler } = tree({ 'roles/site/a.xml': node('<eval shell="sh">echo x</eval>'), 'graphs/g/g.xml': graph('') }, { allowEval: true });
  assert.ok(compiler.check().some((e) => e.code === 'E_XML_EVAL_MODE'));
  rmSync(dir, { recursive: true });
});

test('still off unless profile.allowEval, and nested mode="xml" output that keeps evaluating is bounded', () => {
  assert.throws(() => render('<eval shell="sh" mode="xml"><![CDATA[echo "<package>x</package>"]]></eval>', { allowEval: false }), { code: 'E_EVAL_DISABLED' });
  // A script that prints an <eval> running itself again: a recursion netroot stops.
  const { dir, compiler } = tree(
    {
      'roles/site/a.xml': node('<post><eval shell="sh" mode="xml">sh &script;</eval></post>'),
      'graphs/g/g.xml': graph(''),
      'again.sh': `echo '<eval shell="sh" mode="xml">sh '"$script"'</eval>'\n`,
    },
    { allowEval: true },
  );
  assert.throws(
    () => compiler.render('a', { ...attrs, script: `${dir}/again.sh` }),
    (e: Error & { code?: string }) => e.code === 'E_EVAL_XML' && /deeper than 8/.test(e.message),
  );
  rmSync(dir, { recursive: true });
});
