// POST /RPC2 — the XML-RPC endpoint. The body is read raw with a hard size limit (the codec has
// its own limits too); the dispatcher always answers with a methodResponse, faults included.
import { Router, raw } from 'express';
import type { RpcDispatcher } from '../rpc/index.js';
import { remoteIPv4 } from './remote.js';

export function rpcRoute(dispatcher: RpcDispatcher, maxBytes = 1024 * 1024): Router {
  const r = Router();
  r.post('/RPC2', raw({ type: () => true, limit: maxBytes }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const xml = await dispatcher.handle(body, { remoteAddress: remoteIPv4(req) });
    res.type('text/xml').send(xml);
  });
  return r;
}
