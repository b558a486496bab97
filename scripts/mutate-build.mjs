#!/usr/bin/env node
// Stryker's buildCommand (stryker.config.mjs), run inside its sandbox after the mutants are
// instrumented: writes x.js next to every src/ and test/ x.ts (type-stripping only, TypeScript's
// transpileModule, no type check), so each mutant's test run is a plain `node` process. Loading tsx
// costs about 0.4 s of CPU per process, most of a unit test file's run; with one process per test
// file per mutant that was most of the mutation run. Local imports already name `.js` (NodeNext).
// Never run it in the work tree: the .js files would shadow nothing but are clutter.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

if (!process.cwd().includes('.stryker-tmp')) {
  console.error('mutate-build: refusing to run outside a Stryker sandbox (.stryker-tmp)');
  process.exit(2);
}

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  sourceMap: false,
  esModuleInterop: true,
};

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules' && name !== 'e2e' && name !== 'fixtures-large') walk(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

let n = 0;
for (const file of [...walk('src', []), ...walk('test', [])]) {
  const out = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
  writeFileSync(file.replace(/\.ts$/, '.js'), out.outputText);
  n++;
}
console.log(`mutate-build: ${n} files`);
