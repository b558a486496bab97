// GET /install/kickstart/<host> and GET /install/kickstart (host found by source address, like
// Rocks' kickstart.cgi). A kickstart carries the node's CHAP secret and install token, so it is
// served only to the node itself (its own address) or to the frontend itself (127.0.0.1), and only
// under a Host header that names the frontend (host-guard.ts: no DNS rebinding).
// Only the node's own fetch changes anything (token, state kickstarted, event); a node whose boot
// action is `os` is refused with E_HOST_INSTALLED (409).
import { Router } from 'express';
import type { KickstartService } from '../boot/kickstart.js';
import type { InstallTokens } from '../boot/install-tokens.js';
import type { Host, Repos } from '../store/index.js';
import { UserError } from '../errors.js';
import { remoteIPv4, isHostItself, onlyToHostItself } from './remote.js';
import { silentLogger, type Logger } from '../log/logger.js';

/** The MAC of the interface a request came from (the host's first one when none has that address). */
function macFrom(host: Host, from: string): string | null {
  return host.interfaces.find((i) => i.ip === from)?.mac ?? host.interfaces[0]?.mac ?? null;
}

/** Logs one info line per kickstart served ('kickstart served': host, mac, from, preview); never its text or token. */
export function kickstartRoutes(repos: Repos, kickstarts: KickstartService, tokens: InstallTokens, logger: Logger = silentLogger): Router {
  const r = Router();

  const serve = async (host: Host, from: string): Promise<string> => {
    const text = await render(host, from);
    logger.info('kickstart served', { host: host.name, mac: macFrom(host, from), from, preview: !isHostItself(host, from), bytes: Buffer.byteLength(text) });
    return text;
  };

  const render = async (host: Host, from: string): Promise<string> => {
    // The frontend itself (an operator's curl on 127.0.0.1) gets a preview with no live token and
    // no side effect at all: no state change, no event, no token minted or revoked — the same
    // text `netroot kickstart HOST` prints.
    if (!isHostItself(host, from)) return kickstarts.render(host);
    // A node that is installed and boots its diskless root (boot action os) is refused, not served
    // a kickstart without a live token: that install would overwrite the root volume the node runs
    // from and then fail at installComplete, leaving the boot record pointing at a root that is gone.
    // The installer stops at "cannot fetch kickstart" instead; reinstalling is an explicit choice.
    // (local/sanboot nodes may still be reinstalled by hand from installer media, as with Rocks.)
    if (host.bootAction === 'os') {
      throw new UserError(
        'E_HOST_INSTALLED',
        `${host.name} is installed and boots its diskless root (boot action os); to reinstall it: netroot host set ${host.name} boot=install`,
      );
    }
    // The node itself gets a fresh single-use install token bound to its address.
    // Nothing is written until the kickstart rendered: a broken profile (bad XML, undefined entity)
    // leaves the host's state, its earlier token and the events log as they were.
    // The token, the state change and the event are one transaction (one commit).
    return tokens.issueAfter(
      host.name,
      from,
      (token) => kickstarts.render(host, token),
      async (tx) => {
        if (host.state === 'discovered') await tx.hosts.update(host.name, { state: 'kickstarted' });
        await tx.events.append({ kind: 'host.kickstarted', host: host.name, detail: { from } });
      },
    );
  };

  r.get('/install/kickstart/:host', async (req, res) => {
    const from = remoteIPv4(req);
    const host = await repos.hosts.get(req.params.host);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `unknown host ${JSON.stringify(req.params.host)}`);
    onlyToHostItself(host, from, 'kickstart');
    res.type('text/plain').send(await serve(host, from));
  });

  r.get('/install/kickstart', async (req, res) => {
    const from = remoteIPv4(req);
    const host = await repos.hosts.byIp(from);
    if (!host) throw new UserError('E_HOST_NOT_FOUND', `no host has address ${from}`);
    res.type('text/plain').send(await serve(host, from));
  });

  return r;
}
