// `netroot roll add DIR [--name N]`, `netroot roll list`, `netroot roll remove NAME`: site rolls in
// Rocks' layout (DIR/nodes/*.xml, DIR/graphs/<graph>/*.xml) that join netroot's own roles and
// graphs for `graph check`, `graph draw`, `kickstart` and the served kickstarts. The list is
// `<stateDir>/rolls.json` (src/profile/rolls.ts), replaced atomically; the roll's files are read
// where they are (not copied), so editing them takes effect at the next kickstart.
import { statSync } from 'node:fs';
import { operatorFileReason } from '../operator-file.js';
import { basename, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { json, table } from './output.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';
import { readRolls, rollLayout, rollsFile, ROLL_NAME, type Roll } from '../profile/index.js';

export const USAGE = `netroot roll add DIR [--name N]
       netroot roll list [--json]
       netroot roll remove NAME`;

async function save(file: string, rolls: Roll[]): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(rolls, null, 2) + '\n', { mode: 0o644, durable: true });
}

export async function rollCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'add': {
      const { values: v, positionals: p } = parse(rest, { name: { type: 'string' } }, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const dir = resolve(p[0]!);
      let isDir = false;
      try {
        isDir = statSync(dir).isDirectory();
      } catch (e) {
        const why = operatorFileReason(e);
        if (why === undefined) throw e;
        // Not there (or a file on the way) reads as below; a refusal (EACCES, EPERM) names itself.
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') throw new UserError('E_ROLL_DIR', `roll directory ${JSON.stringify(p[0])}: ${why}`);
      }
      if (!isDir) throw new UserError('E_ROLL_DIR', `roll directory ${JSON.stringify(p[0])} does not exist or is not a directory`);
      const layout = rollLayout(dir);
      if (!layout.nodes && !layout.graphs)
        throw new UserError(
          'E_ROLL_DIR',
          `${JSON.stringify(p[0])} is not a roll in Rocks' layout: it has neither nodes/ (node XML files) nor graphs/ (graphs/<graph>/*.xml)`,
        );
      const name = v.name ?? basename(dir);
      if (!ROLL_NAME.test(name))
        throw new UserError(
          'E_USAGE',
          `roll name ${JSON.stringify(name)}: letters, digits, _ . - (up to 64, starting with a letter or digit)${v.name === undefined ? '; give one with --name' : ''}`,
        );
      const file = rollsFile(ctx.config.stateDir);
      const rolls = readRolls(file);
      if (rolls.some((r) => r.name === name))
        throw new UserError('E_ROLL_EXISTS', `a roll named ${JSON.stringify(name)} is already recorded (netroot roll list); choose another with --name`);
      const same = rolls.find((r) => r.dir === dir);
      if (same) throw new UserError('E_ROLL_EXISTS', `${dir} is already recorded as roll ${JSON.stringify(same.name)}`);
      const roll = { name, dir };
      await save(file, [...rolls, roll]);
      ctx.io.out(v.json ? json(roll) : `added roll ${name} (${dir}${layout.nodes ? '' : '; no nodes/'}${layout.graphs ? '' : '; no graphs/'})\n`);
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      noExtra(p, 0, USAGE);
      const rolls = readRolls(rollsFile(ctx.config.stateDir)).map((r) => ({ ...r, ...rollLayout(r.dir) }));
      if (v.json) ctx.io.out(json(rolls));
      else if (rolls.length === 0) ctx.io.out('no site rolls (netroot roll add DIR)\n');
      else
        ctx.io.out(
          table(
            ['NAME', 'DIR', 'NODES', 'GRAPHS'],
            rolls.map((r) => [r.name, r.dir, r.nodes ? 'yes' : 'missing', r.graphs ? 'yes' : 'missing']),
          ),
        );
      return 0;
    }
    case 'remove': {
      const { values: v, positionals: p } = parse(rest, {}, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const file = rollsFile(ctx.config.stateDir);
      const rolls = readRolls(file);
      const gone = rolls.find((r) => r.name === p[0]);
      if (!gone)
        throw new UserError(
          'E_ROLL_NOT_FOUND',
          `unknown roll ${JSON.stringify(p[0])}${rolls.length > 0 ? ` (recorded: ${rolls.map((r) => r.name).join(', ')})` : ' (no site rolls recorded)'}`,
        );
      await save(
        file,
        rolls.filter((r) => r !== gone),
      );
      ctx.io.out(v.json ? json(gone) : `removed roll ${gone.name} (its files in ${gone.dir} are left as they are)\n`);
      return 0;
    }
    default:
      throw badVerb('roll', verb, USAGE);
  }
}
