// The single table of /api/v1 operations. Every API router registers its routes through
// `ApiTable.add`, which both mounts the handler on the express Router and records what the route
// takes and answers (zod schemas). The OpenAPI document (openapi.ts) and the 405 answers
// (api-fallback.ts) are computed from this table, so neither can drift from what is served.
import type { Request, Response, Router, RequestHandler } from 'express';
import type { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ApiOperation {
  method: HttpMethod;
  /** Express syntax: /api/v1/hosts/:name */
  path: string;
  summary: string;
  /** Needs `Authorization: Bearer <token>`. */
  auth: boolean;
  /** Query parameters (every one a string on the wire). */
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Success status (200 by default). */
  status?: number;
  /** The success body: a JSON schema, or plain text, server-sent events, an SVG picture, or nothing (204). */
  response: z.ZodType | 'text' | 'sse' | 'svg' | 'empty';
}

export type ApiHandler = (req: Request, res: Response) => Promise<void> | void;

export class ApiTable {
  readonly operations: ApiOperation[] = [];

  /** Mounts `handler` on `router` (after `before`, e.g. a body parser) and records `op`. */
  add(router: Router, op: ApiOperation, handler: ApiHandler, ...before: RequestHandler[]): void {
    this.operations.push(op);
    router[op.method](op.path, ...before, async (req, res) => {
      await handler(req, res);
    });
  }

  /** The methods served at `path` (a request path), upper case, or [] when no route matches it. */
  methodsAt(path: string): string[] {
    const out = new Set<string>();
    for (const op of this.operations) if (patternOf(op.path).test(path)) out.add(op.method.toUpperCase());
    if (out.has('GET')) out.add('HEAD');
    return [...out];
  }
}

const patterns = new Map<string, RegExp>();
function patternOf(path: string): RegExp {
  let re = patterns.get(path);
  if (!re) {
    re = new RegExp(
      '^' +
        path
          .split('/')
          .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/') +
        '/?$',
    );
    patterns.set(path, re);
  }
  return re;
}
