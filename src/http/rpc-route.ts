// POST /RPC2 — the XML-RPC endpoint. What one request may cost before any token is checked:
//   - its body: at most rpcMaxBodyBytes, read by body.ts (a larger Content-Length is 413 unread),
//     within the server's requestTimeout (server.ts);
//   - its parse: a body with more than rpcMaxMarkup `<` and `&` is a parse-error fault without
//     parsing (rpc-precheck.ts); the rest is parsed through a TurnGate, one parse per event-loop
//     turn, at most rpcMaxPendingParses waiting (503) and rpcMaxPendingParsesPerSource per address
//     (429), so parses cannot hold up /healthz, TFTP or iSCSI for longer than one of them.
// The dispatcher always answers with a methodResponse, faults included.
import { Router } from 'express';
import { FaultCode, serializeFault, type RpcDispatcher } from '../rpc/index.js';
import { remoteIPv4 } from './remote.js';
import { readBody } from './body.js';
import { tooMuchMarkup } from './rpc-precheck.js';
import { TurnGate } from './turn-gate.js';
import { httpLimits, type HttpLimits } from './limits.js';

export type RpcRouteLimits = Pick<
  HttpLimits,
  'rpcMaxBodyBytes' | 'rpcMaxMarkup' | 'rpcMaxPendingParses' | 'rpcMaxPendingParsesPerSource' | 'retryAfterSeconds'
>;

export function rpcRoute(dispatcher: RpcDispatcher, limits: Partial<RpcRouteLimits> = {}): Router {
  const l = httpLimits(limits);
  const gate = new TurnGate(l.rpcMaxPendingParses, l.rpcMaxPendingParsesPerSource);
  const r = Router();
  r.post('/RPC2', async (req, res) => {
    const from = remoteIPv4(req);
    const body = await readBody(req, res, l.rpcMaxBodyBytes);
    if (body === null) return; // the client went away or was cut at its deadline: nobody to answer
    if (tooMuchMarkup(body, l.rpcMaxMarkup)) {
      res.type('text/xml').send(serializeFault(FaultCode.PARSE_ERROR, `malformed XML-RPC: more than ${l.rpcMaxMarkup} tags and references`));
      return;
    }
    // RpcDispatcher.handle parses synchronously before its first await, so the gate's job is
    // exactly the parse; the method itself (database work) runs after the gate moved on.
    const ran = gate.run(from, () => dispatcher.handle(body, { remoteAddress: from }));
    if (typeof ran === 'string') {
      res.setHeader('Retry-After', String(l.retryAfterSeconds));
      res
        .status(ran === 'busy' ? 503 : 429)
        .type('text/plain')
        .send(ran === 'busy' ? 'busy: try again later\n' : 'too many calls from your address: try again later\n');
      return;
    }
    const xml = await ran;
    res.type('text/xml').send(xml);
  });
  return r;
}
