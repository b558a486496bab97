// GET /api/v1/hosts/:name/kickstart (token): the text `netroot kickstart NAME` prints (a preview:
// no install token is minted, the host is not marked), as text/plain, with every secret masked:
// each non-empty value of the host's secret attributes (isSecretName: the CHAP secrets,
// passwords, crypt hashes) is replaced by "********" wherever it appears.
import { Router } from 'express';
import type { Repos } from '../store/index.js';
import type { KickstartService } from '../boot/kickstart.js';
import { UserError } from '../errors.js';
import type { ApiAuth } from './api-auth.js';
import type { ApiTable } from './api-table.js';
import { maskSecretValues } from '../log/secret-values.js';

export function kickstartPreviewRoutes(d: { repos: Repos; kickstarts: KickstartService; auth: ApiAuth; table: ApiTable }): Router {
  const r = Router();
  d.table.add(
    r,
    {
      method: 'get',
      path: '/api/v1/hosts/:name/kickstart',
      summary: "The host's kickstart as `netroot kickstart` prints it, secrets masked",
      auth: true,
      response: 'text',
    },
    async (req, res) => {
      d.auth.require(req);
      const h = await d.repos.hosts.get(String(req.params['name']));
      if (!h) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params['name'])}`);
      const text = await d.kickstarts.render(h);
      res.type('text/plain').send(maskSecretValues(text, await d.kickstarts.attributesOf(h)));
    },
  );
  return r;
}
