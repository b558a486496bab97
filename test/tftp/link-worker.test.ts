// native/tftpio in a worker thread: when the worker ends (on its own or by terminate()), the
// addon's sockets and check handle are closed before Node unloads it, and the process goes on.
// (With a plain cleanup hook the close callbacks ran after the unload and the process crashed.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { packageDir } from '../../src/config/index.js';

const addon = join(packageDir(), 'native', 'tftpio', 'build', 'Release', 'tftpio.node');

// CommonJS worker source: loads the addon, opens two sockets, closes one, leaves one open.
const source = `
const { workerData, parentPort } = require('node:worker_threads');
const io = require(workerData.addon);
io.init(() => {});
const a = io.open('127.0.0.1', '127.0.0.1', 9, 0);
const b = io.open('127.0.0.1', '127.0.0.1', 9, 0);
io.close(a[0]);
parentPort.postMessage('open');
if (workerData.stay) setInterval(() => {}, 1000);
else setTimeout(() => io.close(b[0]), 10);
`;

function run(stay: boolean): Promise<{ code: number; worker: Worker }> {
  const worker = new Worker(source, { eval: true, workerData: { addon, stay } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      if (stay) void worker.terminate();
    });
    worker.once('exit', (code) => resolve({ code, worker }));
  });
}

test('a worker that loads tftpio ends cleanly, on its own and by terminate(), several times', async () => {
  for (let i = 0; i < 3; i++) {
    assert.equal((await run(false)).code, 0);
    assert.equal((await run(true)).code, 1, 'terminate() ends a worker with code 1');
  }
});
