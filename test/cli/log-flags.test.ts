// --log-format / --log-level of the serve commands, and log.format / log.level of the config: the
// flag wins, then log.level, then the older logLevel; bad values are the operator's error (exit 2)
// naming the flag or the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logChoice } from '../../src/cli/log-flags.js';
import { logSettings } from '../../src/app/log-settings.js';
import { loadConfig } from '../../src/config/index.js';
import { isNetrootError } from '../../src/errors.js';
import { cli, tempStateDir } from '../helpers/cli.js';

test('logChoice: the flags given, checked; malformed values name the flag', () => {
  assert.deepEqual(logChoice({}), {});
  assert.deepEqual(logChoice({ 'log-format': 'json', 'log-level': 'debug' }), { format: 'json', level: 'debug' });
  for (const [flag, value] of [
    ['log-format', 'xml'],
    ['log-format', ''],
    ['log-level', 'trace'],
    ['log-level', 'INFO'],
    ['log-format', 'x'.repeat(5000)],
  ] as const) {
    assert.throws(
      () => logChoice({ [flag]: value }),
      (e: unknown) => {
        assert.ok(isNetrootError(e) && e.code === 'E_USAGE' && e.user);
        assert.match((e as Error).message, new RegExp(`^--${flag} must be one of `));
        assert.ok((e as Error).message.length < 200, 'a long value is cut');
        return true;
      },
    );
  }
});

test('log settings: defaults pretty/info; log.* from file, env and --set; logLevel still read; the flag wins', () => {
  const dir = tempStateDir('nrt-logcfg-');
  try {
    const base = { stateDir: dir };
    assert.deepEqual(logSettings(loadConfig({ env: {}, overrides: base })), { format: 'pretty', level: 'info' });
    assert.deepEqual(logSettings(loadConfig({ env: {}, overrides: { ...base, logLevel: 'warn' } })), { format: 'pretty', level: 'warn' });
    assert.deepEqual(logSettings(loadConfig({ env: {}, overrides: { ...base, logLevel: 'warn', 'log.level': 'error', 'log.format': 'json' } })), {
      format: 'json',
      level: 'error',
    });
    assert.deepEqual(logSettings(loadConfig({ env: { NETROOT_LOG_FORMAT: 'json' }, overrides: base })), { format: 'json', level: 'info' });
    const file = join(dir, 'netroot.yaml');
    writeFileSync(file, 'log:\n  format: json\n  level: debug\n');
    const fromFile = loadConfig({ file, env: {}, overrides: base });
    assert.deepEqual(logSettings(fromFile), { format: 'json', level: 'debug' });
    assert.deepEqual(logSettings(fromFile, { format: 'pretty', level: 'warn' }), { format: 'pretty', level: 'warn' });
    writeFileSync(file, 'log:\n  format: xml\n  colour: true\n');
    assert.throws(
      () => loadConfig({ file, env: {}, overrides: base }),
      (e: Error) => {
        assert.ok(isNetrootError(e) && e.code === 'E_CONFIG_INVALID');
        assert.match(e.message, /log\.format/);
        assert.match(e.message, /colour/);
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot serve --log-format xml and storage serve --log-level loud: exit 2 naming the flag, nothing started', async () => {
  const dir = tempStateDir('nrt-logflag-');
  try {
    const bad = await cli(dir, 'serve', '--log-format', 'xml');
    assert.equal(bad.code, 2);
    assert.equal(bad.err, 'netroot: --log-format must be one of json, pretty, got "xml"\n');
    const badStorage = await cli(dir, 'storage', 'serve', '--portal', '127.0.0.1', '--log-level', 'loud');
    assert.equal(badStorage.code, 2);
    assert.match(badStorage.err, /^netroot: --log-level must be one of debug, info, warn, error, got "loud"\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('netroot serve --log-format json: every stderr line is one JSON record (level label, ISO time, msg)', { timeout: 60_000 }, async () => {
  const dir = tempStateDir('nrt-logjson-');
  const flags = ['--set', 'http.host=127.0.0.1', '--set', 'http.port=0', '--set', 'tftp.enabled=false', '--set', 'iscsi.enabled=false'];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/netroot.ts', '--state-dir', dir, ...flags, 'serve', '--log-format', 'json', '--log-level', 'debug'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        stdout += c;
        if (stdout.includes('netroot: off')) resolve();
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const lines = stderr.trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const listening = records.find((r) => r['msg'] === 'http listening');
    assert.ok(listening, stderr);
    assert.equal(listening['level'], 'info');
    assert.match(String(listening['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
