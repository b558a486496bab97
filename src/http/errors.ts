// Maps errors to HTTP answers. Operator/client errors keep their message and code and get the
// status of their code in src/error-codes.ts; anything else is a 500 with no detail (no stack, no
// secret ever reaches a client).
import type { ErrorRequestHandler } from 'express';
import { httpStatusOf, isNetrootError, UserError } from '../errors.js';
import type { Logger } from '../log/logger.js';

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // The router could not percent-decode a path parameter (it throws decodeURIComponent's
    // URIError with status 400): the client's mistake, answered like any user error.
    if (err instanceof URIError && (err as { status?: unknown }).status === 400) err = new UserError('E_BAD_PATH', 'the path is not valid percent-encoding');
    // body-parser's own errors (malformed JSON, body too large) carry a 4xx status: the client's fault.
    const bp = err as { status?: number; type?: string };
    const status = typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500 && typeof bp.type === 'string' ? bp.status : undefined;
    if (isNetrootError(err) && err.user) {
      const s = httpStatusOf(err);
      // The message is what the client is told anyway (user errors never carry a secret): the
      // operator reading the log sees the same reason, e.g. which image a refused boot needs.
      logger.info('request refused', { path: req.path, code: err.code, status: s, message: err.message });
      res.status(s).json({ code: err.code, message: err.message });
      return;
    }
    if (status) {
      res
        .status(status)
        .json(status === 413 ? { code: 'E_BODY_TOO_LARGE', message: 'request body too large' } : { code: 'E_BAD_REQUEST', message: 'malformed request body' });
      return;
    }
    logger.error('request failed', { path: req.path, error: err });
    res.status(500).json({ code: 'E_INTERNAL', message: 'internal error' });
  };
}
