// Loads the configuration once: defaults ← /etc/netroot/netroot.yaml ← <stateDir>/netroot.yaml (or
// the one --config file) ← NETROOT_* environment ← flags.
// Every problem is reported at once (MultiError E_CONFIG_INVALID), each naming its source and
// field. The result is deep-frozen and passed down; there is no global config.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { configSchema, type Config } from './schema.js';
import { consistencyProblems } from './consistency.js';
import { MultiError, UserError } from '../errors.js';
import { operatorFileError, operatorFileReason } from '../operator-file.js';

/** The package directory (holds roles/, graphs/, initrd-templates/). Works from src/ and dist/src/. */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'netroot') return dir;
    dir = dirname(dir);
  }
  throw new UserError('E_PACKAGE_DIR', 'cannot find the netroot package directory (package.json named netroot)');
}

/** The system-wide file, read first when it exists (env NETROOT_SYSTEM_CONFIG names another; '' none). */
export const SYSTEM_CONFIG = '/etc/netroot/netroot.yaml';

export interface LoadOptions {
  /**
   * YAML file; when absent, the system file (SYSTEM_CONFIG) and then <stateDir>/netroot.yaml are
   * read if they exist — stateDir from flags, the environment, the system file or the default.
   */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Dotted overrides from flags, e.g. { 'http.port': '8081', stateDir: '/tmp/x' }. */
  overrides?: Record<string, string>;
}

const DEFAULTS = configSchema.parse({});
/** Leaves that have no default but may be set (their type is string). */
const OPTIONAL_LEAVES = ['network.router', 'log.level'];

/** Dotted leaf paths of the config with the type of their default. */
function leaves(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...leaves(v as Record<string, unknown>, p));
    else out.push([p, v]);
  }
  return out;
}
const LEAVES = new Map<string, unknown>([
  ...leaves(DEFAULTS as unknown as Record<string, unknown>),
  ...OPTIONAL_LEAVES.map((p) => [p, ''] as [string, unknown]),
]);

/** http.maxInFlight → NETROOT_HTTP_MAX_IN_FLIGHT */
export function envName(path: string): string {
  return (
    'NETROOT_' +
    path
      .replace(/\./g, '_')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toUpperCase()
  );
}

function coerce(path: string, raw: string, source: string, problems: string[]): unknown {
  const sample = LEAVES.get(path);
  if (typeof sample === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) problems.push(`${source}: ${path}: not a number: ${JSON.stringify(raw)}`);
    return n;
  }
  if (typeof sample === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${source}: ${path}: not a boolean: ${JSON.stringify(raw)}`);
    return raw;
  }
  if (Array.isArray(sample))
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = target;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined || next === null || typeof next !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** The later file wins per leaf: a section it sets only partly keeps the earlier file's other keys. */
function mergeInto(target: Record<string, unknown>, doc: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(doc)) {
    const cur = target[k];
    const isMap = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
    if (isMap(cur) && isMap(v)) mergeInto(cur, v);
    else target[k] = v;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};

  const overrides = opts.overrides ?? {};
  /** `flag`: the file is the operator's --config, whose absence or unreadability is one line (exit 2). */
  const readFile = (file: string, flag?: string): void => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (flag !== undefined && operatorFileReason(e) !== undefined) throw operatorFileError(e, file, flag);
      problems.push(`${file}: ${operatorFileReason(e) ?? (e as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const doc = YAML.parse(text, { maxAliasCount: 100 }) as unknown;
      if (doc !== null && doc !== undefined) {
        if (typeof doc !== 'object' || Array.isArray(doc)) problems.push(`${file}: the top level must be a mapping`);
        else mergeInto(raw, doc as Record<string, unknown>);
      }
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  if (opts.file !== undefined) readFile(opts.file, '--config');
  else {
    const system = env['NETROOT_SYSTEM_CONFIG'] ?? SYSTEM_CONFIG;
    if (system !== '' && existsSync(system)) readFile(system);
    const fromSystem = typeof raw['stateDir'] === 'string' ? raw['stateDir'] : undefined;
    const stateDir = overrides['stateDir'] ?? env[envName('stateDir')] ?? fromSystem ?? DEFAULTS.stateDir;
    const local = join(stateDir, 'netroot.yaml');
    if (resolve(local) !== resolve(system) && existsSync(local)) readFile(local);
  }

  for (const path of LEAVES.keys()) {
    const v = env[envName(path)];
    if (v !== undefined) setPath(raw, path, coerce(path, v, `environment ${envName(path)}`, problems));
  }
  for (const [path, v] of Object.entries(overrides)) {
    if (!LEAVES.has(path)) {
      problems.push(`flag: unknown setting ${JSON.stringify(path)}`);
      continue;
    }
    setPath(raw, path, coerce(path, v, 'flag', problems));
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length ? issue.path.join('.') : '(top level)';
      problems.push(`${where}: ${issue.message}`);
    }
  } else problems.push(...consistencyProblems(parsed.data));
  if (problems.length > 0 || !parsed.success) {
    throw new MultiError(
      'E_CONFIG_INVALID',
      'invalid configuration',
      problems.map((p) => new UserError('E_CONFIG_INVALID', p)),
    );
  }

  const c = parsed.data;
  const pkg = packageDir();
  c.stateDir = resolve(c.stateDir);
  c.profile.rolesDir = resolve(c.profile.rolesDir || join(pkg, 'roles'));
  c.profile.graphsDir = resolve(c.profile.graphsDir || join(pkg, 'graphs'));
  c.profile.siteDir = resolve(c.profile.siteDir || join(c.stateDir, 'site-roles'));
  c.profile.includeDir = resolve(c.profile.includeDir || join(c.stateDir, 'include'));
  c.tftp.root = resolve(c.tftp.root || join(c.stateDir, 'tftpboot'));
  c.storage.volumesDir = resolve(c.storage.volumesDir || join(c.stateDir, 'volumes'));
  return deepFreeze(c);
}

export type { Config } from './schema.js';
