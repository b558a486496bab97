// The end of /api: a path no route matched. A path some route serves with another method is 405
// E_METHOD_NOT_ALLOWED with an `Allow` header (RFC 9110 §15.5.6); any other /api path is 404
// E_NOT_FOUND. Both in the API's one error shape { code, message }.
import type { RequestHandler } from 'express';
import type { ApiTable } from './api-table.js';

export function apiFallback(table: ApiTable): RequestHandler {
  return (req, res, next) => {
    if (req.path !== '/api' && !req.path.startsWith('/api/')) return next();
    const allow = table.methodsAt(req.path);
    if (allow.length > 0) {
      res
        .set('Allow', allow.join(', '))
        .status(405)
        .json({ code: 'E_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed here (allowed: ${allow.join(', ')})` });
      return;
    }
    res.status(404).json({ code: 'E_NOT_FOUND', message: 'no such API resource' });
  };
}
