import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createLogger, silentLogger, redact, isSecretName, type LogFormat } from '../../src/log/logger.js';

function capture(format: LogFormat, level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = createLogger({ format, ...(level ? { level } : {}), write: (l) => lines.push(l) });
  return { log, lines };
}

const PRETTY = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARN|ERROR) (.*)$/;

test('pretty (the default) keeps the one-line shape: ISO time, LEVEL, msg, k=<JSON>', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const before = Date.now();
  log.info('tftp sent', { file: 'ipxe.efi', ip: '10.1.255.254', bytes: 1024, ok: true, list: [1, 'a'], nested: { a: 1 } });
  assert.equal(lines.length, 1);
  const m = PRETTY.exec(lines[0]!);
  assert.ok(m, lines[0]);
  assert.ok(Math.abs(Date.parse(m[1]!) - before) < 5000);
  assert.equal(m[2], 'INFO');
  assert.equal(m[3], 'tftp sent file="ipxe.efi" ip="10.1.255.254" bytes=1024 ok=true list=[1,"a"] nested={"a":1}');
  assert.ok(!lines[0]!.includes('\n'));
});

test('pretty: a line without fields, a message with % and quotes, other levels', () => {
  const { log, lines } = capture('pretty', 'debug');
  log.debug('plain');
  log.warn('50%s done %d "q"', { n: 1 });
  log.error('bad');
  assert.match(lines[0]!, /^\S+ DEBUG plain$/);
  assert.match(lines[1]!, /^\S+ WARN 50%s done %d "q" n=1$/);
  assert.match(lines[2]!, /^\S+ ERROR bad$/);
});

test('e2e greps still match the pretty line (login refused status, tftp sent file + ip)', () => {
  const { log, lines } = capture('pretty');
  log.warn('iscsi: login refused', { initiator: 'iqn.x', status: '0x0201', chapSecret: 'hunter2' });
  assert.match(lines[0]!, /iscsi: login refused[^\n]*status="0x0201"/);
  assert.ok(!lines[0]!.includes('hunter2'));
});

test('levels below the minimum are dropped (default info)', () => {
  const { log, lines } = capture('json');
  log.debug('no');
  log.info('yes');
  assert.equal(lines.length, 1);
  const warnOnly = capture('pretty', 'warn');
  warnOnly.log.info('no');
  warnOnly.log.warn('yes');
  assert.equal(warnOnly.lines.length, 1);
});

test('json: NDJSON with the level as a label, ISO time, msg and the fields', () => {
  const { log, lines } = capture('json');
  log.info('dhcp offer', { mac: '52:54:00:00:00:01', host: 'compute-0-0', n: 2 });
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec).sort(), ['host', 'level', 'mac', 'msg', 'n', 'time']);
  assert.equal(rec['level'], 'info');
  assert.equal(rec['msg'], 'dhcp offer');
  assert.equal(new Date(rec['time'] as string).toISOString(), rec['time']);
  assert.equal(rec['host'], 'compute-0-0');
  assert.equal(rec['n'], 2);
});

test('fields named like the record keys are renamed, not lost and not shadowing', () => {
  for (const format of ['json', 'pretty'] as const) {
    const { log, lines } = capture(format);
    log.warn('framing', { msg: 'inner', level: 3, time: 't' });
    if (format === 'json') {
      const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(rec['msg'], 'framing');
      assert.equal(rec['level'], 'warn');
      assert.equal(rec['msg_'], 'inner');
      assert.equal(rec['level_'], 3);
      assert.equal(rec['time_'], 't');
    } else {
      assert.match(lines[0]!, /^\S+ WARN framing msg_="inner" level_=3 time_="t"$/);
    }
  }
});

test('secrets are redacted at any depth, in arrays, in child bindings and in Error causes (both formats)', () => {
  for (const format of ['json', 'pretty'] as const) {
    const { log, lines } = capture(format);
    const cause = Object.assign(new Error('inner'), { password: 'pw-inner', detail: { apiToken: 'tok-deep' } });
    const err = Object.assign(new Error('outer', { cause }), { chapSecret: 'chap-own' });
    log.child({ bmcPassword: 'pw-child', host: 'c0' }).error('failed', {
      err,
      a: { b: { c: { d: { e: { chap_secret: 'deep-chap' } } } } },
      list: [{ token: 'tok-list' }],
      Credential: 'cred',
    });
    const line = lines.join('\n');
    for (const s of ['pw-inner', 'tok-deep', 'chap-own', 'pw-child', 'deep-chap', 'tok-list', 'cred"'])
      assert.ok(!line.includes(s), `${format}: ${s} leaked: ${line}`);
    assert.ok(line.includes('outer') && line.includes('inner'), 'the messages of the error and its cause are kept');
    assert.ok(line.includes('[redacted]'));
    assert.ok(line.includes('c0'));
  }
});

test('redact: contract (secret keys at any depth, Errors as name/message/code/cause, too deep and cycles replaced)', () => {
  assert.deepEqual(redact({ chap: 'x', ok: 1, n: { Token: 'y', z: [{ secretKey: 's' }] } }), {
    chap: '[redacted]',
    ok: 1,
    n: { Token: '[redacted]', z: [{ secretKey: '[redacted]' }] },
  });
  const e = Object.assign(new Error('m', { cause: new Error('c') }), { code: 'E_X', password: 'p' });
  assert.deepEqual(redact(e), { name: 'Error', message: 'm', code: 'E_X', cause: { name: 'Error', message: 'c', code: undefined } });
  const cyclic: Record<string, unknown> = { password: 'p' };
  cyclic['self'] = cyclic;
  const out = JSON.stringify(redact(cyclic));
  assert.ok(!out.includes('"p"') && out.includes('[too deep]'));
  let deep: Record<string, unknown> = { secret: 'bottom' };
  for (let i = 0; i < 50; i++) deep = { d: deep };
  assert.ok(!JSON.stringify(redact(deep)).includes('bottom'));
  assert.equal(redact('s'), 's');
  assert.equal(redact(null), null);
});

test('isSecretName', () => {
  for (const k of ['secret', 'chapSecret', 'PASSWORD', 'passwd', 'apiToken', 'chap_user', 'credentials']) assert.ok(isSecretName(k), k);
  for (const k of ['host', 'mac', 'ip', 'name']) assert.ok(!isSecretName(k), k);
});

test('child bindings come first on the line, and a field of the same name overrides its value', () => {
  const { log, lines } = capture('pretty');
  log.child({ svc: 'dhcp', mac: 'old' }).info('m', { mac: 'new', x: 1 });
  assert.match(lines[0]!, /^\S+ INFO m svc="dhcp" mac="new" x=1$/);
});

test('base fields are on every line; silentLogger writes nothing and its children are silent', () => {
  const lines: string[] = [];
  createLogger({ base: { node: 's1' }, write: (l) => lines.push(l) }).info('hi');
  assert.match(lines[0]!, /^\S+ INFO hi node="s1"$/);
  assert.equal(silentLogger.child({ a: 1 }), silentLogger);
});

test('default sink: stderr, synchronously — the lines logged just before process.exit() are all there', () => {
  const url = new URL('../../src/log/logger.ts', import.meta.url).href;
  for (const format of ['pretty', 'json'] as const) {
    const script = `import { createLogger } from ${JSON.stringify(url)};
const log = createLogger({ format: ${JSON.stringify(format)} });
for (let i = 0; i < 2000; i++) log.info('line', { i, pad: 'x'.repeat(100) });
log.error('last words', { chapSecret: 'hunter2' });
process.exit(3);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(r.status, 3, r.stderr.slice(-2000));
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2001, format);
    const last = lines.at(-1)!;
    if (format === 'pretty') assert.match(last, /^\S+ ERROR last words chapSecret="\[redacted\]"$/);
    else assert.deepEqual({ ...JSON.parse(last), time: 0 }, { level: 'error', time: 0, msg: 'last words', chapSecret: '[redacted]' });
  }
});
