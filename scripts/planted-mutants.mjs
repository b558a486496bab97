#!/usr/bin/env node
// The boundary bugs issue 22 planted by hand ("We planted ..."), kept as a fixed regression list:
// each is applied to a scratch copy of src/ and test/ (never the work tree), the test file that
// must catch it runs, and the names of the failing tests are printed. A bug no test notices fails
// the script. This is not a mutation tool (that is StrykerJS, `npm run mutate`); it pins the
// specific mutants docs/mutation.md names, several of which (constants such as 16 → 17) Stryker's
// mutators never generate.
//   node scripts/planted-mutants.mjs [substring-of-a-name ...]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** name, file, [from, to] replacements applied in order (each must match exactly once), test file. */
const PLANTED = [
  ['dhcp hlen limit 16 → 17', 'src/dhcp/packet.ts', [['if (hlen > 16)', 'if (hlen > 17)']], 'test/dhcp/packet.test.ts'],
  [
    'dhcp overload bits 1/2 swapped',
    'src/dhcp/packet.ts',
    [
      ['overload[0]! & 1)', 'overload[0]! & 0x10)'],
      ['overload[0]! & 2)', 'overload[0]! & 1)'],
      ['overload[0]! & 0x10)', 'overload[0]! & 2)'],
    ],
    'test/dhcp/packet.test.ts',
  ],
  [
    'dhcp server htype/hlen check removed',
    'src/dhcp/server.ts',
    [['if (m.op !== 1 || m.htype !== 1 || m.hlen !== 6)', 'if (m.op !== 1)']],
    'test/dhcp/server.test.ts',
  ],
  [
    'tftp duplicate option last-wins',
    'src/tftp/packet.ts',
    [['if (!options.has(name)) options.set(name, value);', 'options.set(name, value);']],
    'test/tftp/packet.test.ts',
  ],
  [
    'iscsi text value-length check removed',
    'src/iscsi/text-keys.ts',
    [['if (value.length > MAX_VALUE) throw', 'if (false) throw']],
    'test/iscsi/text-keys.test.ts',
  ],
  [
    'iscsi CRC32C offered while digests are disallowed',
    'src/iscsi/text-keys.ts',
    [["if (item === 'CRC32C' && allow) return 'CRC32C';", "if (item === 'CRC32C') return 'CRC32C';"]],
    'test/iscsi/text-keys.test.ts',
  ],
  [
    'iscsi MaxRecvDataSegmentLength minimum 512 → 0',
    'src/iscsi/text-keys.ts',
    [
      [
        'params.initiatorMaxRecvDataSegmentLength = num(value, key, 512, 16777215);',
        'params.initiatorMaxRecvDataSegmentLength = num(value, key, 0, 16777215);',
      ],
    ],
    'test/iscsi/text-keys.test.ts',
  ],
  [
    'kernel-args LUN limit 16383 → 16384 (validateNodeBootInfo)',
    'src/initrd/kernel-args.ts',
    [['n.lun < 0 || n.lun > 16383)', 'n.lun < 0 || n.lun > 16384)']],
    'test/initrd/kernel-args.test.ts',
  ],
  [
    'kernel-args LUN limit 16383 → 16384 (formatLun)',
    'src/initrd/kernel-args.ts',
    [['lun < 0 || lun > 16383)', 'lun < 0 || lun > 16384)']],
    'test/initrd/kernel-args.test.ts',
  ],
  [
    'kernel-args credentials recognised with three colons after @',
    'src/initrd/kernel-args.ts',
    [['(v.slice(at + 1).match(/:/g)?.length ?? 0) >= 4', '(v.slice(at + 1).match(/:/g)?.length ?? 0) >= 3']],
    'test/initrd/kernel-args.test.ts',
  ],
  [
    'kernel-args port 0 accepted (parseNetrootArg)',
    'src/initrd/kernel-args.ts',
    [['if (out.port < 1 || out.port > 65535)', 'if (out.port < 0 || out.port > 65535)']],
    'test/initrd/kernel-args.test.ts',
  ],
  [
    'kernel-args port 0 accepted (validateNodeBootInfo)',
    'src/initrd/kernel-args.ts',
    [['n.port < 1 || n.port > 65535)', 'n.port < 0 || n.port > 65535)']],
    'test/initrd/kernel-args.test.ts',
  ],
  [
    'cond numeric == when only one side is a number',
    'src/profile/cond.ts',
    [['if (isNum(a) && isNum(b)) return num(a) === num(b);', 'if (isNum(a) || isNum(b)) return Number(a) === Number(b);']],
    'test/profile/cond.test.ts',
  ],
  [
    'cond numeric ordering when only one side is a number',
    'src/profile/cond.ts',
    [
      [
        'const ra = rank(a);',
        'if ((isNum(a) || isNum(b)) && !Number.isNaN(Number(a)) && !Number.isNaN(Number(b))) return Number(a) - Number(b);\n  const ra = rank(a);',
      ],
    ],
    'test/profile/cond.test.ts',
  ],
];

const root = resolve('.');
const only = process.argv.slice(2);
const chosen = PLANTED.filter(([name]) => only.length === 0 || only.some((o) => name.includes(o)));
let escaped = 0;
for (const [name, file, edits, testFile] of chosen) {
  const dir = mkdtempSync(join(tmpdir(), 'netroot-planted-'));
  try {
    for (const d of ['src', 'test', 'initrd-templates', 'roles', 'graphs', 'tsconfig.json', 'package.json']) {
      cpSync(join(root, d), join(dir, d), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    let text = readFileSync(join(dir, file), 'utf8');
    for (const [from, to] of edits) {
      const n = text.split(from).length - 1;
      if (n !== 1) throw new Error(`${name}: "${from}" occurs ${n} times in ${file}`);
      text = text.replace(from, to);
    }
    writeFileSync(join(dir, file), text);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test-reporter=tap', testFile], { cwd: dir, encoding: 'utf8' });
    const failing = [...r.stdout.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]);
    if (r.status === 0 || failing.length === 0) {
      escaped++;
      console.log(`SURVIVED  ${name}  (${testFile})`);
    } else {
      console.log(`killed    ${name}\n          by ${testFile}: ${failing.map((f) => `"${f}"`).join(', ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`\n${chosen.length - escaped} of ${chosen.length} planted mutants killed`);
process.exit(escaped > 0 ? 1 : 0);
