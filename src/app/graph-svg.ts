// The dashboard's graph picture (GET /api/v1/graph): `netroot graph draw` (the profile compiler's
// DOT) with each appliance of the graph drawn as a highlighted ellipse pointing at its root node
// (itself filled), turned into SVG by graphviz's `dot` (Debian graphviz) — run with no shell, the
// DOT on stdin, at most DOT_SECONDS and MAX_SVG_BYTES of output. Names reach DOT only as
// JSON-quoted strings (DOT's quoting), and dot escapes them as XML text in the SVG.
import { spawn } from 'node:child_process';
import type { Config } from '../config/index.js';
import type { Store } from '../store/index.js';
import { ProfileCompiler, rollsFile } from '../profile/index.js';
import { NetrootError, UserError } from '../errors.js';

const DOT_SECONDS = 20;
const MAX_SVG_BYTES = 32 * 1024 * 1024;

function runDot(dot: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('dot', ['-Tsvg'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), DOT_SECONDS * 1000);
    p.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new UserError('E_NO_GRAPHVIZ', 'SVG output needs graphviz: apt-get install graphviz')
          : new NetrootError('E_INTERNAL', `dot: ${e.message}`),
      );
    });
    p.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_SVG_BYTES) p.kill('SIGKILL');
      else out.push(b);
    });
    p.stderr.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString('utf8');
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && size <= MAX_SVG_BYTES) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new NetrootError('E_INTERNAL', `dot failed (${code ?? 'killed'}): ${err.slice(0, 500)}`));
    });
    p.stdin.on('error', () => {}); // dot gone early: its exit status says why
    p.stdin.end(dot);
  });
}

export function graphDrawer(config: Config, store: Store): (appliance: string | undefined) => Promise<string> {
  const p = config.profile;
  return async (only) => {
    const compiler = new ProfileCompiler({
      rolesDir: p.rolesDir,
      graphsDir: p.graphsDir,
      graph: p.graph,
      siteDir: p.siteDir,
      includeDir: p.includeDir,
      allowEval: p.allowEval,
      rollsFile: rollsFile(config.stateDir),
    });
    let appliances = (await store.appliances.list()).filter((a) => a.graph === p.graph);
    if (only !== undefined) {
      appliances = appliances.filter((a) => a.name === only);
      if (appliances.length === 0) throw new UserError('E_APPLIANCE_NOT_FOUND', `unknown appliance ${JSON.stringify(only)} (in graph ${p.graph})`);
    }
    const q = (s: string) => JSON.stringify(s);
    const dot = compiler.dot(appliances.length === 1 && only !== undefined ? appliances[0]!.rootNode : undefined).trimEnd();
    const extra: string[] = [];
    for (const a of appliances) {
      extra.push(`  ${q('appliance ' + a.name)} [shape=ellipse, style=filled, fillcolor="#ffd54f", color="#8d6e00", penwidth=2];`);
      extra.push(`  ${q(a.rootNode)} [style="rounded,filled", fillcolor="#fff3c4", color="#8d6e00", penwidth=2];`);
      extra.push(`  ${q('appliance ' + a.name)} -> ${q(a.rootNode)} [color="#8d6e00", penwidth=2];`);
    }
    return runDot(dot.replace(/\}\s*$/, extra.join('\n') + '\n}\n'));
  };
}
