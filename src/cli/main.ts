// The `netroot` command: global flags, help and version, dispatch to one file per subcommand, and
// the error contract: `netroot: <message>` on stderr, exit 2 for the operator's errors, 1 for failures.
// `-h`/`--help` anywhere before `--` prints usage and runs nothing: no command is called, no
// config is loaded, no store is opened.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliContext, type GlobalFlags, type Io } from './context.js';
import { UserError, exitCodeOf, isNetrootError } from '../errors.js';
import { EXIT } from '../error-codes.js';
import { hostCommand, USAGE as hostUsage } from './host.js';
import { applianceCommand, USAGE as applianceUsage } from './appliance.js';
import { attrCommand, USAGE as attrUsage } from './attr.js';
import { kickstartCommand, USAGE as kickstartUsage } from './kickstart.js';
import { graphCommand, USAGE as graphUsage } from './graph.js';
import { rollCommand, USAGE as rollUsage } from './roll.js';
import { serveCommand, USAGE as serveUsage } from './serve.js';
import { insertEthersCommand, USAGE as insertEthersUsage } from './insert-ethers.js';
import { assetsCommand, USAGE as assetsUsage } from './assets.js';
import { storageCommand, USAGE as storageUsage } from './storage.js';
import { initrdCommand, USAGE as initrdUsage } from './initrd.js';
import { labCommand, USAGE as labUsage } from './lab.js';
import { imageCommand, USAGE as imageUsage } from './image.js';
import { reportCommand, USAGE as reportUsage } from './report.js';
import { eventsCommand, USAGE as eventsUsage } from './events.js';
import { powerCommand, USAGE as powerUsage } from './power.js';

type Command = (ctx: CliContext, argv: string[]) => Promise<number>;

/** `help` is the line in `netroot --help`; `usage` is what `netroot NAME --help` prints. */
export interface CommandSpec {
  run: Command;
  help: string;
  usage: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  serve: { run: serveCommand, usage: serveUsage, help: 'run the frontend (HTTP, TFTP, DHCP, XML-RPC, iSCSI) in the foreground' },
  'insert-ethers': { run: insertEthersCommand, usage: insertEthersUsage, help: 'discover powered-on machines and add them as hosts' },
  storage: { run: storageCommand, usage: storageUsage, help: 'nodes|volumes|show|reconcile the iSCSI storage; serve a storage node' },
  host: { run: hostCommand, usage: hostUsage, help: 'add|list|show|remove|set hosts; bmc set|show|unset' },
  power: {
    run: (ctx, argv) => powerCommand(ctx, argv),
    usage: powerUsage,
    help: 'on|off|cycle|reset|soft|status hosts through their BMCs (IPMI, Redfish), in parallel; --pxe for a network boot',
  },
  appliance: { run: applianceCommand, usage: applianceUsage, help: 'list|add|set|remove appliances' },
  attr: { run: attrCommand, usage: attrUsage, help: 'set|unset|list attributes (global, os, appliance, host)' },
  assets: { run: assetsCommand, usage: assetsUsage, help: 'import iPXE, pxelinux and kernels under the boot root' },
  events: {
    run: (ctx, argv) => eventsCommand(ctx, argv),
    usage: eventsUsage,
    help: 'print the events log (discoveries, host changes, installs), the newest 50 by default; --follow for new ones',
  },
  kickstart: { run: kickstartCommand, usage: kickstartUsage, help: "print a host's kickstart" },
  report: {
    run: reportCommand,
    usage: reportUsage,
    help: 'hosts|dhcp|kickstart: the /etc/hosts, ISC dhcpd.conf or kickstart (secrets masked) netroot would write or serve',
  },
  graph: { run: graphCommand, usage: graphUsage, help: 'check|draw the node/graph XML' },
  roll: { run: rollCommand, usage: rollUsage, help: "add|list|remove site rolls (Rocks layout: nodes/, graphs/<graph>/) next to netroot's roles" },
  lab: { run: labCommand, usage: labUsage, help: 'up|down the full QEMU lab: blank nodes install, then boot diskless (root)' },
  initrd: { run: initrdCommand, usage: initrdUsage, help: 'build-base|build-installer|build-lab-root boot images under the boot root' },
  image: { run: imageCommand, usage: imageUsage, help: 'build|import|list|show|remove OS images (kernel, dracut initrd, root) that nodes install and boot' },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return (
    [
      'usage: netroot [--state-dir DIR] [--config FILE] [--set key=value]... COMMAND ...',
      '       netroot COMMAND --help | netroot help [COMMAND] | netroot --version',
      '',
      ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.help}`),
      '',
      'State lives under --state-dir (env NETROOT_STATE_DIR, default /var/lib/netroot).',
      'Global flags go anywhere before `--`; --json (JSON output, where a command has it) before or after the command.',
      "Exit status: 0 done; 2 the operator's error (usage, unknown name, refused input); 1 any other failure.",
    ].join('\n') + '\n'
  );
}

export function commandUsage(name: string): string {
  const c = COMMANDS[name];
  if (!c) throw new UserError('E_USAGE', `unknown command ${JSON.stringify(name)}\n${usage()}`);
  return `usage: ${c.usage}\n\n${name}: ${c.help}\n`;
}

/** True when `-h` or `--help` stands before the first `--` (after it, words are the command's). */
export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** This package's version, from the netroot package.json above this file (src/cli/ or dist/src/cli/). */
export function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'netroot' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error('no package.json of netroot above ' + fileURLToPath(import.meta.url));
  }
}

/** Pulls the global flags out of argv wherever they stand before `--`; returns them and the rest
 * (`--` and what follows it included, unchanged). */
export function splitGlobal(argv: string[]): { flags: GlobalFlags; rest: string[] } {
  const flags: GlobalFlags = { set: {} };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const take = (name: string): string | undefined => {
      if (a === name) {
        const v = argv[++i];
        if (v === undefined) throw new UserError('E_USAGE', `${name} needs a value`);
        return v;
      }
      if (a.startsWith(name + '=')) return a.slice(name.length + 1);
      return undefined;
    };
    let v: string | undefined;
    if ((v = take('--state-dir')) !== undefined) flags.stateDir = v;
    else if ((v = take('--config')) !== undefined) flags.configFile = v;
    else if ((v = take('--set')) !== undefined) {
      const eq = v.indexOf('=');
      if (eq <= 0) throw new UserError('E_USAGE', `--set expects key=value, got ${JSON.stringify(v)}`);
      flags.set[v.slice(0, eq)] = v.slice(eq + 1);
    } else rest.push(a);
  }
  return { flags, rest };
}

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Options before the command name: help, version, or `--json`, which is handed on to the command. */
const LEADING = new Set(['-h', '--help', '--version', '-V', '--json']);

export async function run(argv: string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let ctx: CliContext | undefined;
  try {
    const { flags, rest } = splitGlobal(argv);
    let at = 0;
    while (at < rest.length && rest[at] !== '--' && rest[at]!.startsWith('-')) at++;
    const leading = rest.slice(0, at);
    const name = rest[at] === '--' ? undefined : rest[at];
    const args = name === undefined ? [] : rest.slice(at + 1);
    if (wantsHelp(rest) || name === 'help') {
      const topic = name === 'help' ? args.find((a) => !a.startsWith('-')) : name;
      io.out(topic === undefined ? usage() : commandUsage(topic));
      return 0;
    }
    const unknown = leading.find((a) => !LEADING.has(a));
    if (unknown !== undefined) throw new UserError('E_USAGE', `unknown option ${JSON.stringify(unknown)} before the command\n${usage()}`);
    if (leading.includes('--version') || leading.includes('-V')) {
      io.out(`netroot ${version()}\n`);
      return 0;
    }
    if (name === undefined) {
      io.out(usage());
      return EXIT.operator;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UserError('E_USAGE', `unknown command ${JSON.stringify(name)}\n${usage()}`);
    if (leading.includes('--json')) {
      const end = args.indexOf('--');
      args.splice(end < 0 ? args.length : end, 0, '--json');
    }
    ctx = new CliContext(flags, io, env);
    return await cmd.run(ctx, args);
  } catch (e) {
    if (isNetrootError(e)) {
      io.err(`netroot: ${e.message.trimEnd()}\n`);
      return exitCodeOf(e);
    }
    io.err(`netroot: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.failure;
  } finally {
    await ctx?.close();
  }
}
