// Renders docs/errors.md from the error-code table (src/error-codes.ts). Pure: returns the text;
// scripts/gen-errors-doc.mjs writes it and test/error-codes.test.ts checks the file is current.
import { ERROR_CODES, EXIT, type ErrorCode } from './error-codes.js';

/** The command that rewrites docs/errors.md (printed by the test when the file is stale). */
export const REGENERATE = 'node --import tsx scripts/gen-errors-doc.mjs';

/** Where a command ends with a non-zero status without an error (it printed its own report). */
const REPORTS: ReadonlyArray<[number, string]> = [
  [EXIT.operator, '`netroot` with no command (usage is printed); `graph check` that finds errors in the node/graph XML'],
  [
    EXIT.failure,
    '`insert-ethers` when a machine could not be added; `storage nodes` when a node is down; `storage volumes` and `storage reconcile` when a node or a volume reported an error',
  ],
];

// Markdown table cells: a `|` would end the cell.
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderErrorsDoc(): string {
  const out: string[] = [
    '# netroot error codes',
    '',
    `<!-- Generated from src/error-codes.ts by \`${REGENERATE}\`; do not edit by hand. -->`,
    '',
    'Every error netroot raises carries a stable `code` (below). Scripts and clients branch on the',
    'code, never on the message. The CLI prints `netroot: <message>` on stderr; an HTTP server answers',
    '`{ "code": ..., "message": ... }` with the status below (the frontend answers 500 with no detail',
    'for every failure).',
    '',
    '## Exit codes of the `netroot` command',
    '',
    '| Exit | Meaning |',
    '| ---- | ------- |',
    `| ${EXIT.ok} | success |`,
    `| ${EXIT.failure} | a failure that is not the operator's input (a crash, a tool that failed, a node that did not answer) |`,
    `| ${EXIT.operator} | the operator's error: a bad flag or argument, an unknown name, a file that cannot be read; fix it and run again |`,
    '',
    'No command uses another exit code. Besides errors, these end with a non-zero status after printing their own report:',
    '',
    ...REPORTS.map(([code, where]) => `- exit ${code}: ${where}.`),
    '',
    '## Codes by area',
    '',
    'Exit is the CLI exit code; HTTP is the status a server answers with. A few codes are the',
    "operator's at one place and a failure at another (a missing tool vs. one that crashed): the table",
    'gives the usual kind; the other place exits (and answers) as its kind says (2 and 400, or 1 and 500).',
  ];
  const byArea = new Map<string, ErrorCode[]>();
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const area = ERROR_CODES[code].area;
    byArea.set(area, [...(byArea.get(area) ?? []), code]);
  }
  for (const area of [...byArea.keys()].sort()) {
    out.push('', `### ${area}`, '', '| Code | Exit | HTTP | Meaning |', '| ---- | ---- | ---- | ------- |');
    for (const code of byArea.get(area)!.sort()) {
      const e = ERROR_CODES[code];
      out.push(`| \`${code}\` | ${e.exit} | ${e.status} | ${cell(e.meaning)} |`);
    }
  }
  return out.join('\n') + '\n';
}
