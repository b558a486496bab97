// The http limits have one meaning: the schema's defaults (what `netroot serve` runs with) and
// DEFAULT_HTTP_LIMITS (what createHttpApp/rpcRoute use when given none) are the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.js';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/limits.js';

test('DEFAULT_HTTP_LIMITS equals the http: defaults of the config schema', () => {
  const http = configSchema.parse({}).http as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(DEFAULT_HTTP_LIMITS)) assert.equal(http[k], v, `http.${k}`);
});
