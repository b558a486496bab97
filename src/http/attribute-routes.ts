// REST API v1 attributes, the same operations as `netroot attr`, on the store's repo:
//   GET    /api/v1/attributes[?scope=global|os|appliance|host[&target=T]][&showSecrets=1][&limit=&cursor=]
//          → {items: Attribute[], next} (ordered by scope, target, name)
//   PUT    /api/v1/attributes/:scope/:name[?target=T]  {value}  → the Attribute (value masked when secret)
//   DELETE /api/v1/attributes/:scope/:name[?target=T]           → 204 (404 E_ATTRIBUTE_NOT_FOUND)
//   GET    /api/v1/hosts/:name/attributes[?showSecrets=1][&limit=&cursor=] → resolved, with Rocks' SOURCE
// The target is always a query parameter (the same for PUT, DELETE and GET): none for global, the
// OS name, an existing appliance or an existing host otherwise. Secret values (isSecretName) read
// as "********"; an authenticated `?showSecrets=1` shows them. Changes need the token.
import { Router, json, type Request } from 'express';
import { z } from 'zod';
import { validAttributeName } from '../validate/attribute-name.js';
import { ATTRIBUTE_SCOPES, resolveAttributes, type AttributeScope, type FrontendFacts, type Repos, type ResolvedAttribute } from '../store/index.js';
import { UserError } from '../errors.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { parseBody } from './api-routes.js';
import { pageRequest, pageOf as pageAll } from './pagination.js';
import { attribute, pageOf, pageQuery, resolvedAttribute } from './api-schemas.js';
import { wantsSecrets } from './secret-mask.js';
import { maskedRows as masked } from '../log/secret-values.js';

export interface AttributeRoutesDeps {
  repos: Repos;
  auth: ApiAuth;
  table: ApiTable;
  maxPageSize: number;
  /** What resolution adds below the stored attributes (the C and D letters). */
  facts: FrontendFacts;
  defaults: Readonly<Record<string, string>>;
}

/** Attribute values are at most 64 KiB (the body limit); scripts and keys fit. */
const attributeValue = z.object({ value: z.string().max(60 * 1024) }).strict();
const showSecrets = z.enum(['1', 'true', '0', 'false']).optional();
const targetQuery = z.object({ target: z.string().optional() });

function scopeOf(v: unknown): AttributeScope {
  if (typeof v === 'string' && (ATTRIBUTE_SCOPES as readonly string[]).includes(v)) return v as AttributeScope;
  throw new UserError('E_BAD_REQUEST', `must be one of ${ATTRIBUTE_SCOPES.join(', ')}`, { where: 'scope' });
}

export function attributeRoutes(d: AttributeRoutesDeps): Router {
  const { repos, auth, table: t } = d;
  const r = Router();
  const body = json({ limit: '64kb' });

  /** The target of `scope` named by ?target= (checked to exist for hosts and appliances). */
  const targetOf = async (req: Request, scope: AttributeScope): Promise<string> => {
    const v = req.query['target'];
    if (v !== undefined && typeof v !== 'string') throw new UserError('E_BAD_REQUEST', 'give it once', { where: 'target' });
    if (scope === 'global') {
      if (v !== undefined && v !== '') throw new UserError('E_BAD_REQUEST', 'a global attribute has none', { where: 'target' });
      return '';
    }
    if (v === undefined || v === '') throw new UserError('E_BAD_REQUEST', `required for ${scope} attributes`, { where: 'target' });
    if (scope === 'host' && !(await repos.hosts.get(v))) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(v)}`, { where: 'target' });
    if (scope === 'appliance' && !(await repos.appliances.get(v)))
      throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(v)}`, { where: 'target' });
    return v;
  };

  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/attributes',
      summary: 'Stored attributes, of one scope (and target) or all; secrets masked unless ?showSecrets=1 with the token',
      auth: false,
      query: z.object({ ...pageQuery, scope: z.enum(ATTRIBUTE_SCOPES).optional(), target: z.string().optional(), showSecrets }),
      response: pageOf(attribute),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      const reveal = wantsSecrets(req, auth);
      let filter = {};
      if (req.query['scope'] !== undefined) {
        const scope = scopeOf(req.query['scope']);
        filter = req.query['target'] === undefined && scope !== 'global' ? { scope } : { scope, target: await targetOf(req, scope) };
      } else if (req.query['target'] !== undefined) throw new UserError('E_BAD_REQUEST', 'needs a scope', { where: 'target' });
      const rows = await repos.attributes.list(filter);
      res.json(pageAll(masked(rows, reveal), (a) => `${a.scope}\u0000${a.target}\u0000${a.name}`, page));
    },
  );
  t.add(
    r,
    {
      method: 'put',
      path: '/api/v1/attributes/:scope/:name',
      summary: '`attr set` (target in ?target=)',
      auth: true,
      query: targetQuery,
      body: attributeValue,
      response: attribute,
    },
    async (req, res) => {
      auth.require(req);
      const scope = scopeOf(req.params['scope']);
      const name = validAttributeName(String(req.params['name']));
      const target = await targetOf(req, scope);
      const { value } = parseBody(attributeValue, req.body);
      await repos.attributes.set({ scope, target, name, value });
      res.json(masked([{ scope, target, name, value }], false)[0]);
    },
    body,
  );
  t.add(
    r,
    {
      method: 'delete',
      path: '/api/v1/attributes/:scope/:name',
      summary: '`attr unset` (target in ?target=)',
      auth: true,
      query: targetQuery,
      status: 204,
      response: 'empty',
    },
    async (req, res) => {
      auth.require(req);
      const scope = scopeOf(req.params['scope']);
      const name = validAttributeName(String(req.params['name']));
      const target = await targetOf(req, scope);
      if (!(await repos.attributes.unset(scope, target, name)))
        throw new UserError('E_ATTRIBUTE_NOT_FOUND', `no ${scope} attribute ${name}${target ? ' for ' + target : ''}`);
      res.status(204).end();
    },
  );
  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/hosts/:name/attributes',
      summary: "A host's resolved attributes with their source letter; secrets masked unless ?showSecrets=1 with the token",
      auth: false,
      query: z.object({ ...pageQuery, showSecrets }),
      response: pageOf(resolvedAttribute),
    },
    async (req, res) => {
      const page = pageRequest(req.query, d.maxPageSize);
      const reveal = wantsSecrets(req, auth);
      const h = await repos.hosts.get(String(req.params['name']));
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params['name'])}`);
      const rows: ResolvedAttribute[] = await resolveAttributes(repos, h, d.facts, d.defaults);
      res.json(pageAll(masked(rows, reveal), (a) => a.name, page));
    },
  );
  return r;
}
