// The OpenAPI 3.1 document of /api/v1 (served at GET /api/v1/openapi.json), computed from the
// route table (api-table.ts) and the very zod schemas the routes validate with and answer: it
// cannot drift from what is served. Schemas with an `id` (Host, Event, Error…) become
// components/schemas; every operation documents its error answers as the one { code, message }.
import { z } from 'zod';
import type { ApiOperation, ApiTable } from './api-table.js';
import { apiError } from './api-schemas.js';

type Json = Record<string, unknown>;

const ERRORS: Record<string, string> = {
  '400': 'Bad request (a malformed body, query parameter or cursor; the message names it)',
  '404': 'Not found',
  '409': 'Conflict with the current state',
  '413': 'Body too large',
  '429': 'Too many requests from this client',
};

/** The OpenAPI path of an express path: /hosts/:name → /hosts/{name}. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function openApiDocument(table: ApiTable, info: { version: string }): Json {
  const components: Record<string, unknown> = {};
  const convert = (s: z.ZodType, io: 'input' | 'output'): Json => {
    const j = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
    delete j['$schema'];
    const defs = (j['$defs'] ?? {}) as Record<string, unknown>;
    delete j['$defs'];
    const fix = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
    for (const [k, v] of Object.entries(defs)) components[k] = fix(v);
    return fix(j);
  };
  const errorRef = { $ref: '#/components/schemas/Error' };
  convert(apiError, 'output'); // registers components/schemas/Error (apiError has id 'Error')
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of table.operations) {
    const p = openApiPath(op.path);
    paths[p] ??= {};
    paths[p][op.method] = operation(op, convert, errorRef);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'netroot REST API',
      version: info.version,
      description:
        'Reads are open; changes (and secret-bearing reads) need `Authorization: Bearer <token>`. Errors are `{code, message}`. Lists answer `{items, next}`: pass `next` as `?cursor=` for the next page; `?limit=` is 1..http.apiMaxPageSize (default 100).',
    },
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}

function operation(op: ApiOperation, convert: (s: z.ZodType, io: 'input' | 'output') => Json, errorRef: Json): Json {
  const parameters: Json[] = [];
  for (const m of op.path.matchAll(/:([A-Za-z0-9_]+)/g)) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  if (op.query) {
    for (const [name, s] of Object.entries(op.query.shape)) {
      const schema = s as z.ZodType;
      parameters.push({ name, in: 'query', required: !schema.safeParse(undefined).success, schema: convert(schema, 'input') });
    }
  }
  const status = String(op.status ?? 200);
  const ok: Json = { description: 'Success' };
  if (op.response === 'text') ok['content'] = { 'text/plain': { schema: { type: 'string' } } };
  else if (op.response === 'sse') ok['content'] = { 'text/event-stream': { schema: { type: 'string' } } };
  else if (op.response === 'svg') ok['content'] = { 'image/svg+xml': { schema: { type: 'string' } } };
  else if (op.response !== 'empty') ok['content'] = { 'application/json': { schema: convert(op.response, 'output') } };
  const responses: Json = { [status]: ok };
  const err = (description: string) => ({ description, content: { 'application/json': { schema: errorRef } } });
  for (const [code, description] of Object.entries(ERRORS)) responses[code] = err(description);
  if (op.auth) responses['401'] = err('The API token is missing or wrong');
  responses['default'] = err('Any other error');
  const out: Json = {
    operationId: `${op.method}${op.path
      .replace(/^\/api\/v1/, '')
      .replace(/[:/](\w)/g, (_m, c: string) => c.toUpperCase())
      .replace(/[^A-Za-z0-9]/g, '')}`,
    summary: op.summary,
    parameters,
    responses,
  };
  if (op.auth) out['security'] = [{ bearer: [] }];
  if (op.body) out['requestBody'] = { required: true, content: { 'application/json': { schema: convert(op.body, 'input') } } };
  return out;
}
