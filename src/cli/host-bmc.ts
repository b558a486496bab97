// `netroot host bmc set|show|unset NAME`: a host's BMC for power control (src/power). Changes go
// through the running frontend's REST API (PUT/DELETE /api/v1/hosts/{name}/bmc), else straight to
// the store (a BMC entry has no plugin to run). The secret comes from a file (--secret-file) or
// stdin (--secret-stdin), never argv; `show` masks it (as CHAP secrets) unless --show-secrets.
import { readFileSync } from 'node:fs';
import type { CliContext } from './context.js';
import { parse, needPositional, noExtra, intFlag, badVerb } from './args.js';
import { json } from './output.js';
import { UserError } from '../errors.js';
import { readOperatorFile } from '../operator-file.js';
import { ApiClient, FrontendDown } from './api-client.js';
import { maskedBmc, validBmcEntry, type BmcInput } from '../power/bmc-entry.js';
import type { BmcEntry } from '../power/types.js';

export const BMC_USAGE = `       netroot host bmc set NAME --driver ipmi|redfish --address A [--port N] --user U (--secret-file F | --secret-stdin) [--insecure-tls] [--system-id ID]
       netroot host bmc show NAME [--show-secrets] [--json]
       netroot host bmc unset NAME`;

/** Through the frontend's API when it runs, else in this process. */
async function viaFrontend<T>(ctx: CliContext, api: (c: ApiClient) => Promise<T>, local: () => Promise<T>): Promise<T> {
  try {
    return await api(new ApiClient(ctx.config));
  } catch (e) {
    if (!(e instanceof FrontendDown)) throw e;
    return local();
  }
}

async function mustHost(ctx: CliContext, name: string): Promise<string> {
  if (!(await ctx.store.hosts.get(name))) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`, { where: 'host' });
  return name;
}

/** The secret: the file's or stdin's first line (a trailing newline is not part of it). */
function readSecret(v: { 'secret-file'?: string | undefined; 'secret-stdin'?: boolean | undefined }, usage: string): string {
  if ((v['secret-file'] === undefined) === (v['secret-stdin'] !== true))
    throw new UserError('E_USAGE', `give the BMC secret with exactly one of --secret-file FILE or --secret-stdin (never on the command line)\nusage: ${usage}`);
  const text = v['secret-file'] !== undefined ? readOperatorFile(v['secret-file'], '--secret-file') : readFileSync(0, 'utf8');
  return text.replace(/\r?\n$/, '').split(/\r?\n/)[0] ?? '';
}

export async function hostBmcCommand(ctx: CliContext, argv: string[], usage: string): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'set': {
      const { values: v, positionals: p } = parse(
        rest,
        {
          driver: { type: 'string' },
          address: { type: 'string' },
          port: { type: 'string' },
          user: { type: 'string' },
          'secret-file': { type: 'string' },
          'secret-stdin': { type: 'boolean' },
          'insecure-tls': { type: 'boolean' },
          'system-id': { type: 'string' },
        },
        usage,
      );
      needPositional(p, 1, usage);
      noExtra(p, 1, usage);
      for (const f of ['driver', 'address', 'user'] as const) if (v[f] === undefined) throw new UserError('E_USAGE', `--${f} is required\nusage: ${usage}`);
      const input: BmcInput = {
        driver: v.driver!,
        address: v.address!,
        port: intFlag(v.port, 'port', 1, 65535) ?? null,
        user: v.user!,
        secret: readSecret(v, usage),
        insecureTls: v['insecure-tls'] === true,
        systemId: v['system-id'] ?? null,
      };
      const host = await mustHost(ctx, p[0]!);
      const entry = validBmcEntry(host, input); // refused here before the frontend is asked
      const { host: _h, ...body } = entry;
      const saved = await viaFrontend(
        ctx,
        (api) => api.call<BmcEntry>('PUT', `/api/v1/hosts/${encodeURIComponent(host)}/bmc`, body),
        async () => maskedBmc(await ctx.store.bmcs.set(entry)),
      );
      ctx.io.out(v.json ? json(saved) : `${host}: BMC ${saved.driver} ${saved.address}${saved.port === null ? '' : `:${saved.port}`} user ${saved.user}\n`);
      return 0;
    }
    case 'show': {
      const { values: v, positionals: p } = parse(rest, { 'show-secrets': { type: 'boolean' } }, usage);
      needPositional(p, 1, usage);
      noExtra(p, 1, usage);
      const host = await mustHost(ctx, p[0]!);
      const b = await ctx.store.bmcs.get(host);
      if (!b) throw new UserError('E_BMC_NOT_SET', `${host} has no BMC entry (set one with: netroot host bmc set ${host} …)`);
      const shown = v['show-secrets'] === true ? b : maskedBmc(b);
      if (v.json) ctx.io.out(json(shown));
      else
        ctx.io.out(
          [
            `host:         ${shown.host}`,
            `driver:       ${shown.driver}`,
            `address:      ${shown.address}`,
            `port:         ${shown.port ?? `(default: ${shown.driver === 'ipmi' ? 623 : 443})`}`,
            `user:         ${shown.user}`,
            `secret:       ${shown.secret}`,
            ...(shown.driver === 'redfish' ? [`insecure-tls: ${shown.insecureTls}`, `system-id:    ${shown.systemId ?? '(the only one)'}`] : []),
          ].join('\n') + '\n',
        );
      return 0;
    }
    case 'unset': {
      const { positionals: p } = parse(rest, {}, usage);
      needPositional(p, 1, usage);
      noExtra(p, 1, usage);
      const host = await mustHost(ctx, p[0]!);
      await viaFrontend(
        ctx,
        (api) => api.call<void>('DELETE', `/api/v1/hosts/${encodeURIComponent(host)}/bmc`),
        async () => {
          if (!(await ctx.store.bmcs.remove(host))) throw new UserError('E_BMC_NOT_SET', `${host} has no BMC entry`);
        },
      );
      ctx.io.out(`${host}: BMC entry removed\n`);
      return 0;
    }
    default:
      throw badVerb('host bmc', verb, usage);
  }
}
