// Child process for lab-lifecycle.test.ts: brings a lab up, starts a long-running process in it,
// prints "READY <namespace> <pid>" and waits to be signalled (or exits on its own with EXIT=1).
import { Lab } from '../../src/lab/index.js';

const lab = new Lab({ name: 'nrt-life', workDir: process.argv[2] ?? '/tmp/nrt-life' });
await lab.up();
const sleeper = lab.spawnInNamespace('sleep', ['600']);
process.stdout.write(`READY ${lab.namespace} ${sleeper.pid}\n`);
if (process.env.EXIT === '1') process.exit(0);
setInterval(() => {}, 1000);
