// The `netroot` command: global flags, dispatch to one file per subcommand, and the error
// contract: `netroot: <message>` on stderr, exit 2 for the operator's errors, 1 for failures.
import { CliContext, type GlobalFlags, type Io } from './context.js';
import { UserError, isNetrootError } from '../errors.js';
import { hostCommand } from './host.js';
import { applianceCommand } from './appliance.js';
import { attrCommand } from './attr.js';
import { kickstartCommand } from './kickstart.js';
import { graphCommand } from './graph.js';
import { serveCommand } from './serve.js';
import { insertEthersCommand } from './insert-ethers.js';
import { assetsCommand } from './assets.js';
import { storageCommand } from './storage.js';
import { initrdCommand } from './initrd.js';
import { labCommand } from './lab.js';

type Command = (ctx: CliContext, argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  serve: { run: serveCommand, help: 'run the frontend (HTTP, TFTP, DHCP, XML-RPC, iSCSI) in the foreground' },
  'insert-ethers': { run: insertEthersCommand, help: 'discover powered-on machines and add them as hosts' },
  storage: { run: storageCommand, help: 'nodes|volumes|show|reconcile the iSCSI storage; serve a storage node' },
  host: { run: hostCommand, help: 'add|list|show|remove|set hosts' },
  appliance: { run: applianceCommand, help: 'list|add|remove appliances' },
  attr: { run: attrCommand, help: 'set|unset|list attributes (global, os, appliance, host)' },
  assets: { run: assetsCommand, help: 'import iPXE, pxelinux and kernels under the boot root' },
  kickstart: { run: kickstartCommand, help: "print a host's kickstart" },
  graph: { run: graphCommand, help: 'check|draw the node/graph XML' },
  lab: { run: labCommand, help: 'up|down the full QEMU lab: blank nodes install, then boot diskless (root)' },
  initrd: { run: initrdCommand, help: 'build-base|build-installer|build-lab-root boot images under the boot root' },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'usage: netroot [--state-dir DIR] [--config FILE] [--set key=value]... COMMAND ...',
    '',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.help}`),
    '',
    'State lives under --state-dir (env NETROOT_STATE_DIR, default /var/lib/netroot).',
  ].join('\n') + '\n';
}

/** Pulls the global flags out of argv wherever they stand; returns them and the rest. */
export function splitGlobal(argv: string[]): { flags: GlobalFlags; rest: string[] } {
  const flags: GlobalFlags = { set: {}, json: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
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

export async function run(argv: string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let ctx: CliContext | undefined;
  try {
    const { flags, rest } = splitGlobal(argv);
    const [name, ...args] = rest;
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      io.out(usage());
      return name === undefined ? 2 : 0;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UserError('E_USAGE', `unknown command ${JSON.stringify(name)}\n${usage()}`);
    ctx = new CliContext(flags, io, env);
    return await cmd.run(ctx, args);
  } catch (e) {
    if (isNetrootError(e)) {
      io.err(`netroot: ${e.message.trimEnd()}\n`);
      return e.user ? 2 : 1;
    }
    io.err(`netroot: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    await ctx?.close();
  }
}
