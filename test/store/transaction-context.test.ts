// transaction(): concurrent transactions queue; a nested one, or a plain store call made inside one
// (which would wait for the transaction it is part of), fails at once with a code that says why.
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { forEachBackend } from '../helpers/store-backends.js';

const iface = (i: number) => [{ mac: `52:54:00:00:09:0${i}`, ip: null, subnet: '10.1.0.0/16', device: 'eth0' }];

forEachBackend('transactions started at the same time both run, one after the other', async (b) => {
  const store = await b.open();
  {
    const order: string[] = [];
    const tx = (i: number) =>
      store.transaction(async (t) => {
        order.push(`begin ${i}`);
        // fixed delay: the transaction stays open across a timer, so the second one gets the chance to start inside it (the input).
        await new Promise((r) => setTimeout(r, 20));
        await t.hosts.add({ name: `n-0-${i}`, appliance: 'compute', rack: 0, rank: i, interfaces: iface(i) });
        order.push(`end ${i}`);
      });
    // The second starts while the first is inside its transaction.
    // fixed delay: 5 ms into the first one's 20 ms (the overlap is the input).
    await Promise.all([tx(1), new Promise((r) => setTimeout(r, 5)).then(() => tx(2))]);
    assert.deepEqual(order, ['begin 1', 'end 1', 'begin 2', 'end 2']);
    assert.equal((await store.hosts.list()).length, 2);
  }
});

forEachBackend('a plain store call or a nested transaction inside a transaction fails at once; after it, calls work', async (b) => {
  const store = await b.open();
  {
    let later: Promise<unknown> | undefined;
    let ended = false;
    await assert.rejects(
      store.transaction(async () => {
        // Started inside (it carries the transaction's async context), run after the transaction ended: allowed.
        later = waitFor(() => ended, { what: 'the transaction to end' }).then(() => store.hosts.list());
        await store.hosts.list();
      }),
      { code: 'E_STORE_IN_TX' },
    );
    ended = true;
    await assert.rejects(
      store.transaction(() => store.transaction(async () => 1)),
      { code: 'E_STORE_NESTED_TX' },
    );
    assert.deepEqual(await later, []);
    assert.equal(await store.transaction(async (t) => (await t.hosts.list()).length), 0);
  }
});
