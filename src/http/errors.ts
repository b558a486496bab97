// Maps errors to HTTP answers. Operator/client errors keep their message and code; anything else
// is a 500 with no detail (no stack, no secret ever reaches a client).
import type { ErrorRequestHandler } from 'express';
import { isNetrootError, UserError } from '../errors.js';
import type { Logger } from '../log/logger.js';

const STATUS: Record<string, number> = {
  E_HOST_NOT_FOUND: 404,
  E_APPLIANCE_NOT_FOUND: 404,
  E_NOT_FOUND: 404,
  E_FORBIDDEN: 403,
  E_PATH_REFUSED: 403,
  E_NO_BOOT_RECORD: 409,
  E_NO_ISCSI: 409,
  E_UNAUTHORIZED: 401,
  E_DUPLICATE: 409,
  E_MAC_KNOWN: 409,
  E_SESSION_BUSY: 409,
  E_PLUGIN_FAILED: 422,
  E_ADDRESS_EXHAUSTED: 422,
  E_BODY_TOO_LARGE: 413,
  E_UNSUPPORTED_ENCODING: 415,
  // A path that is not valid percent-encoding (RFC 3986 §2.1), e.g. /boot/files/%ff%fe.
  E_BAD_PATH: 400,
  // A Range no byte of the file satisfies; the route has set Content-Range: bytes */<size>.
  E_RANGE_NOT_SATISFIABLE: 416,
  E_STORAGE_NOT_FOUND: 404,
  E_STORAGE_FULL: 507,
  // A host whose OS image is gone or broken: its state is the problem, not the request.
  E_IMAGE_NOT_FOUND: 409,
  E_IMAGE_INCOMPLETE: 409,
  // A node whose boot action is `os` asked for its kickstart: reinstalling is the operator's choice.
  E_HOST_INSTALLED: 409,
  // A secret-bearing page asked for under a Host name that is not the frontend's (DNS rebinding).
  E_MISDIRECTED: 421,
  // REST API (issue #15 item 4).
  E_METHOD_NOT_ALLOWED: 405,
  E_TOO_MANY_STREAMS: 429,
  E_APPLIANCE_IN_USE: 409,
  E_ATTRIBUTE_NOT_FOUND: 404,
  E_VOLUME_IN_USE: 409,
  E_VOLUME_AMBIGUOUS: 409,
  E_STORAGE_IN_USE: 409,
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // The router could not percent-decode a path parameter (it throws decodeURIComponent's
    // URIError with status 400): the client's mistake, answered like any user error.
    if (err instanceof URIError && (err as { status?: unknown }).status === 400) err = new UserError('E_BAD_PATH', 'the path is not valid percent-encoding');
    // body-parser's own errors (malformed JSON, body too large) carry a 4xx status: the client's fault.
    const bp = err as { status?: number; type?: string };
    const status = typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500 && typeof bp.type === 'string' ? bp.status : undefined;
    if (isNetrootError(err) && err.user) {
      const s = STATUS[err.code] ?? 400;
      // The message is what the client is told anyway (user errors never carry a secret): the
      // operator reading the log sees the same reason, e.g. which image a refused boot needs.
      logger.info('request refused', { path: req.path, code: err.code, status: s, message: err.message });
      res.status(s).json({ code: err.code, message: err.message });
      return;
    }
    if (status) {
      res.status(status).json(status === 413 ? { code: 'E_BODY_TOO_LARGE', message: 'request body too large' } : { code: 'E_BAD_REQUEST', message: 'malformed request body' });
      return;
    }
    logger.error('request failed', { path: req.path, error: err });
    res.status(500).json({ code: 'E_INTERNAL', message: 'internal error' });
  };
}
