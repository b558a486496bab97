// `netroot attr set|unset|list` — attributes at global, os, appliance and host level. For a host,
// `list` shows the resolved values with Rocks' SOURCE column (D C G O A H I; see
// store/resolve-attributes.ts). Secret attributes (names with secret, password, passwd, token or
// crypted: the CHAP secrets, an install token) list as ******** unless --show-secrets is given, as
// Rocks' secure attributes were.
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, badVerb } from './args.js';
import { table, json } from './output.js';
import { UserError } from '../errors.js';
import { resolveAttributes, type AttributeScope } from '../store/index.js';
import { validAttributeName } from '../validate/attribute-name.js';
import { mustHost } from './host.js';
import { frontendFacts, DEFAULT_ATTRIBUTES } from '../boot/kickstart.js';
import { maskedRows as shown } from '../log/secret-values.js';

export const USAGE = `netroot attr set NAME VALUE [--host H | --appliance A | --os OS]
       netroot attr unset NAME [--host H | --appliance A | --os OS]
       netroot attr list [--host H | --appliance A | --os OS] [--json] [--show-secrets]`;

const LETTER: Record<AttributeScope, string> = { global: 'G', os: 'O', appliance: 'A', host: 'H' };

const scopeOptions = { host: { type: 'string' }, appliance: { type: 'string' }, os: { type: 'string' } } as const;

async function scopeOf(
  ctx: CliContext,
  v: { host?: string | undefined; appliance?: string | undefined; os?: string | undefined },
): Promise<{ scope: AttributeScope; target: string }> {
  const given = [v.host, v.appliance, v.os].filter((x) => x !== undefined);
  if (given.length > 1) throw new UserError('E_USAGE', `give at most one of --host, --appliance, --os\nusage: ${USAGE}`);
  if (v.host !== undefined) return { scope: 'host', target: (await mustHost(ctx, v.host)).name };
  if (v.appliance !== undefined) {
    if (!(await ctx.store.appliances.get(v.appliance)))
      throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(v.appliance)}`, { where: 'appliance' });
    return { scope: 'appliance', target: v.appliance };
  }
  if (v.os !== undefined) return { scope: 'os', target: v.os };
  return { scope: 'global', target: '' };
}

const validName = validAttributeName;

export async function attrCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'set': {
      const { values: v, positionals: p } = parse(rest, scopeOptions, USAGE);
      needPositional(p, 2, USAGE);
      noExtra(p, 2, USAGE);
      const s = await scopeOf(ctx, v);
      await ctx.store.attributes.set({ ...s, name: validName(p[0]!), value: p[1]! });
      ctx.io.out(`${p[0]} set (${s.scope}${s.target ? ' ' + s.target : ''})\n`);
      return 0;
    }
    case 'unset': {
      const { values: v, positionals: p } = parse(rest, scopeOptions, USAGE);
      needPositional(p, 1, USAGE);
      noExtra(p, 1, USAGE);
      const s = await scopeOf(ctx, v);
      if (!(await ctx.store.attributes.unset(s.scope, s.target, validName(p[0]!)))) {
        throw new UserError('E_ATTRIBUTE_NOT_FOUND', `no ${s.scope} attribute ${p[0]}${s.target ? ' for ' + s.target : ''}`);
      }
      ctx.io.out(`${p[0]} unset\n`);
      return 0;
    }
    case 'list': {
      const { values: v, positionals: p } = parse(rest, { ...scopeOptions, 'show-secrets': { type: 'boolean' } }, USAGE);
      noExtra(p, 0, USAGE);
      const reveal = v['show-secrets'] === true;
      if (v.host !== undefined && v.appliance === undefined && v.os === undefined) {
        const h = await mustHost(ctx, v.host);
        const list = shown(await resolveAttributes(ctx.store, h, frontendFacts(ctx.config), DEFAULT_ATTRIBUTES), reveal);
        ctx.io.out(
          v.json
            ? json(list)
            : table(
                ['ATTRIBUTE', 'VALUE', 'SOURCE'],
                list.map((a) => [a.name, a.value, a.source]),
              ),
        );
        return 0;
      }
      const s = v.appliance !== undefined || v.os !== undefined ? await scopeOf(ctx, v) : undefined;
      const rows = shown(await ctx.store.attributes.list(s ?? {}), reveal);
      ctx.io.out(
        v.json
          ? json(rows)
          : table(
              ['ATTRIBUTE', 'VALUE', 'SOURCE', 'TARGET'],
              rows.map((a) => [a.name, a.value, LETTER[a.scope], a.target || null]),
            ),
      );
      return 0;
    }
    default:
      throw badVerb('attr', verb, USAGE);
  }
}
