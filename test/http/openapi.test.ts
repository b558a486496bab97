// The OpenAPI 3.1 document at /api/v1/openapi.json: (a) it is a valid OpenAPI 3.1 document; (b) it
// documents exactly the routes the API's routers register (walked on express's router stack); (c)
// real answers (a host, a page of events, an error, a page of appliances) validate against the
// response schemas the document gives for them (ajv, JSON Schema 2020-12).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Router } from 'express';
import { startFrontend, type TestFrontend } from '../helpers/frontend.js';
import { restApi } from '../../src/http/api.js';
import { openApiPath } from '../../src/http/openapi.js';
import { DEFAULT_ATTRIBUTES, frontendFacts, KickstartService } from '../../src/boot/kickstart.js';
import { checkApplianceGraph } from '../../src/boot/appliance-check.js';
import { silentLogger } from '../../src/log/logger.js';

let fe: TestFrontend;
let doc: any;
before(async () => {
  fe = await startFrontend();
  const res = await fetch(`${fe.api}/openapi.json`);
  assert.equal(res.status, 200);
  doc = await res.json();
});
after(async () => {
  await fe.f.stop();
  rmSync(fe.dir, { recursive: true, force: true });
});

test('(a) the document is valid OpenAPI 3.1', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const r = await new Validator().validate(doc);
  assert.equal(r.valid, true, JSON.stringify(r.errors, null, 2));
});

/** "METHOD /path" of every route on an express router, nested routers included. */
function registered(router: Router): string[] {
  const out: string[] = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${openApiPath(layer.route.path)}`);
      if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((router as unknown as { stack: any[] }).stack);
  return out.sort();
}

test('(b) every route the API routers register is documented, and every documented operation is served', async () => {
  const f = fe.f;
  const api = restApi({
    store: f.store,
    engine: f.engine,
    hub: f.hub,
    storage: f.storage,
    kickstarts: new KickstartService(f.store, f.config),
    token: 't',
    logger: silentLogger,
    facts: frontendFacts(f.config),
    defaultAttributes: DEFAULT_ATTRIBUTES,
    defaultGraph: f.config.profile.graph,
    checkGraph: (g, n) => checkApplianceGraph(f.config, g, n),
  });
  const routes = registered(api.router);
  const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
  assert.ok(routes.length >= 25, `routes found on the stack: ${routes.length}`);
  assert.deepEqual(routes, documented);
  for (const must of [
    'GET /api/v1/appliances',
    'PUT /api/v1/attributes/{scope}/{name}',
    'GET /api/v1/events/stream',
    'DELETE /api/v1/storage/volumes/{name}',
    'GET /api/v1/hosts/{name}/kickstart',
    'GET /api/v1/openapi.json',
  ])
    assert.ok(documented.includes(must), must);
  // Every documented operation answers something other than the API's 404/405.
  for (const op of documented.filter((o) => o.startsWith('GET ') && !o.includes('{') && !o.endsWith('/stream'))) {
    const res = await fetch(`${fe.api.replace('/api/v1', '')}${op.slice(4)}`);
    assert.ok(res.status !== 404 && res.status !== 405, `${op}: ${res.status}`);
    await res.body?.cancel();
  }
});

test('(c) real answers validate against the response schemas of the document', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const check = (path: string, method: string, status: string, body: unknown) => {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method} ${path} documented`);
    const schema = op.responses[status]?.content?.['application/json']?.schema;
    assert.ok(schema, `${method} ${path} ${status} has a JSON schema`);
    const validate = ajv.compile({ ...schema, components: doc.components });
    assert.ok(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(body).slice(0, 300)}`);
    // and the schema is not vacuous: a wrong shape fails it
    assert.equal(validate({ unexpected: true }), false, `${method} ${path} ${status} rejects a wrong shape`);
  };
  const added = await fetch(`${fe.api}/hosts`, {
    method: 'POST',
    headers: fe.auth,
    body: JSON.stringify({ name: 'compute-5-0', mac: '52:54:00:ff:00:01', appliance: 'compute' }),
  });
  assert.equal(added.status, 201);
  check('/api/v1/hosts', 'post', '201', await added.json());
  check('/api/v1/hosts/{name}', 'get', '200', await (await fetch(`${fe.api}/hosts/compute-5-0`)).json());
  check('/api/v1/hosts', 'get', '200', await (await fetch(`${fe.api}/hosts?limit=1`)).json());
  const events = (await (await fetch(`${fe.api}/events?limit=5`)).json()) as { items: unknown[] };
  assert.ok(events.items.length > 0, 'adding a host logged events');
  check('/api/v1/events', 'get', '200', events);
  check('/api/v1/appliances', 'get', '200', await (await fetch(`${fe.api}/appliances`)).json());
  check('/api/v1/hosts/{name}/attributes', 'get', '200', await (await fetch(`${fe.api}/hosts/compute-5-0/attributes`)).json());
  const missing = await fetch(`${fe.api}/hosts/nobody`);
  assert.equal(missing.status, 404);
  check('/api/v1/hosts/{name}', 'get', '404', await missing.json());
  const refused = await fetch(`${fe.api}/hosts`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  check('/api/v1/hosts', 'post', '401', await refused.json());
});
