// The files a role writes from its %post (<file name="..."> bodies), read from the shipped node XML
// through the profile's own parser: tests run exactly what a node receives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXml } from '../../src/profile/xml.js';
import { nodeFromXml, type Part } from '../../src/profile/node-file.js';
import type { NetrootError } from '../../src/errors.js';

export const ROLES_DIR = join(import.meta.dirname, '..', '..', 'roles');

/** The body of `<file name="NAME">` in roles/<roll>/<node>.xml (text and CDATA; entities left as written). */
export function roleFile(roll: string, node: string, name: string): string {
  const path = join(ROLES_DIR, roll, `${node}.xml`);
  const problems: NetrootError[] = [];
  const nf = nodeFromXml(node, path, parseXml(readFileSync(path, 'utf8'), path), problems);
  if (problems.length > 0) throw problems[0]!;
  for (const item of nf.items) {
    if (item.kind !== 'script') continue;
    const f = item.parts.find((p): p is Extract<Part, { kind: 'file' }> => p.kind === 'file' && p.name === name);
    if (!f) continue;
    const body = f.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    return body.startsWith('\n') ? body.slice(1) : body;
  }
  throw new Error(`${path}: no <file name="${name}">`);
}
