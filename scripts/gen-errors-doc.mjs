#!/usr/bin/env node
// Writes docs/errors.md from the error-code table (src/error-codes.ts).
// Run: node --import tsx scripts/gen-errors-doc.mjs   (test/error-codes.test.ts fails while it is stale)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc } from '../src/error-codes-doc.ts';

const file = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
writeFileSync(file, renderErrorsDoc());
console.log(`wrote ${file}`);
