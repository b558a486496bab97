// REST API v1 BMC entries and power (src/power):
//   PUT    /api/v1/hosts/:name/bmc    {driver, address, port?, user, secret, insecureTls?, systemId?} → the entry, secret masked
//   GET    /api/v1/hosts/:name/bmc[?showSecrets=1]   → the entry, secret masked unless asked with the token (as CHAP secrets)
//   DELETE /api/v1/hosts/:name/bmc    → 204 (404 E_BMC_NOT_SET when there is none)
//   POST   /api/v1/hosts/:name/power  {action, pxe?} → {host, action, ok: true, state}
// A power call goes through power/service.ts, so it is recorded as a 'power' event whatever its
// outcome; a BMC failure answers its code's status (502 E_BMC_UNREACHABLE, 504 E_BMC_TIMEOUT, 400
// E_BMC_AUTH…) with {code, message} (the message names host, BMC and cause, never the secret). A
// client that goes away aborts the BMC call (the driver kills its child or request). Changes need the token.
import { Router, json } from 'express';
import { z } from 'zod';
import type { Repos } from '../store/index.js';
import { NetrootError, UserError, httpStatusOf } from '../errors.js';
import { POWER_ACTIONS, POWER_DRIVERS } from '../power/types.js';
import { maskedBmc, validBmcEntry } from '../power/bmc-entry.js';
import { powerHosts } from '../power/service.js';
import type { PowerDrivers } from '../power/runner.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { parseBody } from './api-routes.js';
import { wantsSecrets } from './secret-mask.js';

export interface PowerRoutesDeps {
  repos: Repos;
  auth: ApiAuth;
  table: ApiTable;
  /** The power drivers (app/power.ts); a BMC whose driver is missing here is E_BMC_UNSUPPORTED. */
  drivers: PowerDrivers;
}

const bmcBody = z
  .object({
    driver: z.enum(POWER_DRIVERS),
    address: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).nullable().optional(),
    user: z.string().min(1).max(64),
    secret: z.string().min(1).max(256),
    insecureTls: z.boolean().optional(),
    systemId: z.string().min(1).max(128).nullable().optional(),
  })
  .strict();

export const bmcAnswer = z
  .object({
    host: z.string(),
    driver: z.enum(POWER_DRIVERS),
    address: z.string(),
    port: z.number().int().nullable(),
    user: z.string(),
    secret: z.string(),
    insecureTls: z.boolean(),
    systemId: z.string().nullable(),
  })
  .meta({ id: 'Bmc' });

const powerBody = z.object({ action: z.enum(POWER_ACTIONS), pxe: z.boolean().optional() }).strict();

export const powerAnswer = z
  .object({ host: z.string(), action: z.enum(POWER_ACTIONS), ok: z.literal(true), state: z.enum(['on', 'off', 'unknown']) })
  .meta({ id: 'PowerResult' });

export function powerRoutes(d: PowerRoutesDeps): Router {
  const { repos, auth, table: t } = d;
  const r = Router();
  const body = json({ limit: '64kb' });
  const mustHost = async (name: string) => {
    if (!(await repos.hosts.get(name))) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(name)}`);
    return name;
  };

  t.add(
    r,
    { method: 'put', path: '/api/v1/hosts/:name/bmc', summary: "Set the host's BMC (`host bmc set`)", auth: true, body: bmcBody, response: bmcAnswer },
    async (req, res) => {
      auth.require(req);
      const host = await mustHost(String(req.params['name']));
      const b = parseBody(bmcBody, req.body);
      const entry = validBmcEntry(host, b);
      res.json(maskedBmc(await repos.bmcs.set(entry)));
    },
    body,
  );
  t.add(
    r,
    {
      method: 'get',
      path: '/api/v1/hosts/:name/bmc',
      summary: "The host's BMC, secret masked (`?showSecrets=1` with the token)",
      auth: false,
      query: z.object({ showSecrets: z.string().optional() }),
      response: bmcAnswer,
    },
    async (req, res) => {
      const reveal = wantsSecrets(req, auth);
      const host = await mustHost(String(req.params['name']));
      const b = await repos.bmcs.get(host);
      if (!b) throw new UserError('E_BMC_NOT_SET', `${host} has no BMC entry`);
      res.json(reveal ? b : maskedBmc(b));
    },
  );
  t.add(
    r,
    { method: 'delete', path: '/api/v1/hosts/:name/bmc', summary: "Remove the host's BMC (`host bmc unset`)", auth: true, status: 204, response: 'empty' },
    async (req, res) => {
      auth.require(req);
      const host = await mustHost(String(req.params['name']));
      if (!(await repos.bmcs.remove(host))) throw new UserError('E_BMC_NOT_SET', `${host} has no BMC entry`);
      res.status(204).end();
    },
  );
  t.add(
    r,
    {
      method: 'post',
      path: '/api/v1/hosts/:name/power',
      summary: 'Power the host through its BMC (on, off, cycle, reset, soft, status; pxe: next boot from the network); recorded as a power event',
      auth: true,
      body: powerBody,
      response: powerAnswer,
    },
    async (req, res) => {
      auth.require(req);
      const host = await mustHost(String(req.params['name']));
      const p = parseBody(powerBody, req.body);
      const ac = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) ac.abort();
      };
      res.on('close', onClose);
      try {
        const [result] = await powerHosts(repos, [host], { action: p.action, pxe: p.pxe === true, signal: ac.signal }, d.drivers, { parallel: 1 });
        if (!result) throw new Error('no power result');
        if (result.ok) {
          res.json({ host, action: p.action, ok: true, state: result.state });
          return;
        }
        // A BMC failure is the BMC's (5xx) or the operator's (4xx): its code's status, never E_INTERNAL.
        const e = new NetrootError(result.code, result.message);
        res.status(httpStatusOf(e)).json({ code: result.code, message: result.message });
      } finally {
        res.off('close', onClose);
      }
    },
    body,
  );
  return r;
}
