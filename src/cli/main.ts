// The `netroot` command: global flags, help and version, dispatch to one file per subcommand, and
// the error contract: `netroot: <message>` on stderr, exit 2 for the operator's errors, 1 for failures.
// `-h`/`--help` anywhere before `--` prints usage and runs nothing: no command is called, no
// config is loaded, no store is opened. Each command's module is imported only when that command
// (or its usage) is asked for: importing them all (undici, handlebars, the lab…) cost a
// one-shot command such as `netroot power` about a second of start-up.
import { CliContext, type GlobalFlags, type Io } from './context.js';
import { UserError, exitCodeOf, isNetrootError } from '../errors.js';
import { EXIT } from '../error-codes.js';
import { version } from './version.js';

type Command = (ctx: CliContext, argv: string[]) => Promise<number>;

/** A command's module, loaded: its entry point and its usage (what `netroot NAME --help` prints). */
export interface LoadedCommand {
  run: Command;
  usage: string;
}

/** `help` is the line in `netroot --help`; `load` imports the command's module. */
export interface CommandSpec {
  help: string;
  load: () => Promise<LoadedCommand>;
}

export const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    help: 'run the frontend (HTTP, TFTP, DHCP, XML-RPC, iSCSI) in the foreground',
    load: async () => import('./serve.js').then((m) => ({ run: m.serveCommand, usage: m.USAGE })),
  },
  'insert-ethers': {
    help: 'discover powered-on machines and add them as hosts',
    load: async () => import('./insert-ethers.js').then((m) => ({ run: m.insertEthersCommand, usage: m.USAGE })),
  },
  storage: {
    help: 'nodes|volumes|show|reconcile the iSCSI storage; serve a storage node',
    load: async () => import('./storage.js').then((m) => ({ run: m.storageCommand, usage: m.USAGE })),
  },
  golden: {
    help: 'create|list|show|remove golden volumes that diskless hosts get copy-on-write clones of',
    load: async () => import('./golden.js').then((m) => ({ run: m.goldenCommand, usage: m.USAGE })),
  },
  host: {
    help: 'add|list|show|remove|set hosts; bmc set|show|unset',
    load: async () => import('./host.js').then((m) => ({ run: m.hostCommand, usage: m.USAGE })),
  },
  power: {
    help: 'on|off|cycle|reset|soft|status hosts through their BMCs (IPMI, Redfish), in parallel; --pxe for a network boot',
    load: async () => import('./power.js').then((m) => ({ run: (ctx: CliContext, argv: string[]) => m.powerCommand(ctx, argv), usage: m.USAGE })),
  },
  appliance: {
    help: 'list|add|set|remove appliances',
    load: async () => import('./appliance.js').then((m) => ({ run: m.applianceCommand, usage: m.USAGE })),
  },
  attr: {
    help: 'set|unset|list attributes (global, os, appliance, host)',
    load: async () => import('./attr.js').then((m) => ({ run: m.attrCommand, usage: m.USAGE })),
  },
  assets: {
    help: 'import iPXE, pxelinux and kernels under the boot root',
    load: async () => import('./assets.js').then((m) => ({ run: m.assetsCommand, usage: m.USAGE })),
  },
  servers: {
    help: 'list the netroot servers sharing this store (heartbeats; stale ones marked)',
    load: async () => import('./servers.js').then((m) => ({ run: m.serversCommand, usage: m.USAGE })),
  },
  events: {
    help: 'print the events log (discoveries, host changes, installs), the newest 50 by default; --follow for new ones',
    load: async () => import('./events.js').then((m) => ({ run: (ctx: CliContext, argv: string[]) => m.eventsCommand(ctx, argv), usage: m.USAGE })),
  },
  kickstart: {
    help: "print a host's kickstart",
    load: async () => import('./kickstart.js').then((m) => ({ run: m.kickstartCommand, usage: m.USAGE })),
  },
  report: {
    help: 'hosts|dhcp|kickstart: the /etc/hosts, ISC dhcpd.conf or kickstart (secrets masked) netroot would write or serve',
    load: async () => import('./report.js').then((m) => ({ run: m.reportCommand, usage: m.USAGE })),
  },
  graph: {
    help: 'check|draw the node/graph XML',
    load: async () => import('./graph.js').then((m) => ({ run: m.graphCommand, usage: m.USAGE })),
  },
  roll: {
    help: "add|list|remove site rolls (Rocks layout: nodes/, graphs/<graph>/) next to netroot's roles",
    load: async () => import('./roll.js').then((m) => ({ run: m.rollCommand, usage: m.USAGE })),
  },
  lab: {
    help: 'up|down the full QEMU lab: blank nodes install, then boot diskless (root)',
    load: async () => import('./lab.js').then((m) => ({ run: m.labCommand, usage: m.USAGE })),
  },
  initrd: {
    help: 'build-base|build-installer|build-lab-root boot images under the boot root',
    load: async () => import('./initrd.js').then((m) => ({ run: m.initrdCommand, usage: m.USAGE })),
  },
  sync: {
    help: 'users: sign and publish the accounts of a UID range, the munge key and the hosts list for every node (Rocks 411)',
    load: async () => import('./sync.js').then((m) => ({ run: m.syncCommand, usage: m.USAGE })),
  },
  store: {
    help: 'migrate the SQLite state into an empty PostgreSQL database (store.url), counts checked',
    load: async () => import('./store.js').then((m) => ({ run: m.storeCommand, usage: m.USAGE })),
  },
  image: {
    help: 'build|import|list|show|remove OS images (kernel, dracut initrd, root) that nodes install and boot',
    load: async () => import('./image.js').then((m) => ({ run: m.imageCommand, usage: m.USAGE })),
  },
};

/** The command's module, loaded; E_USAGE (with the global usage) for an unknown name. */
export async function loadCommand(name: string): Promise<LoadedCommand> {
  const c = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!c) throw new UserError('E_USAGE', `unknown command ${JSON.stringify(name)}\n${usage()}`);
  return c.load();
}

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

export async function commandUsage(name: string): Promise<string> {
  const c = await loadCommand(name);
  return `usage: ${c.usage}\n\n${name}: ${COMMANDS[name]!.help}\n`;
}

/** True when `-h` or `--help` stands before the first `--` (after it, words are the command's). */
export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

export { version };

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
      io.out(topic === undefined ? usage() : await commandUsage(topic));
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
    const cmd = await loadCommand(name);
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
