// appliances.update: changes only the given fields, keeps the name and the appliance's hosts and
// attributes, and refuses an unknown appliance with E_APPLIANCE_NOT_FOUND (nothing written).
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { forEachBackend } from '../helpers/store-backends.js';

forEachBackend('appliances.update changes the given fields only; unknown appliance is E_APPLIANCE_NOT_FOUND', async (b) => {
  const store = await b.open();
  {
    await store.appliances.add({ name: 'gpu', basename: 'gpu', graph: 'default', rootNode: 'compute', discoverable: true });
    await store.hosts.add({
      name: 'gpu-0-0',
      appliance: 'gpu',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:aa:00:01', ip: '10.1.255.254', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    await store.attributes.set({ scope: 'appliance', target: 'gpu', name: 'Kickstart_Timezone', value: 'UTC' });

    let a = await store.appliances.update('gpu', { basename: 'gpunode', discoverable: false });
    assert.deepEqual(a, { name: 'gpu', basename: 'gpunode', graph: 'default', rootNode: 'compute', discoverable: false });
    a = await store.appliances.update('gpu', { rootNode: 'compute-diskless', graph: 'site' });
    assert.deepEqual(a, { name: 'gpu', basename: 'gpunode', graph: 'site', rootNode: 'compute-diskless', discoverable: false });
    assert.deepEqual(await store.appliances.get('gpu'), a);
    // An empty patch writes nothing and answers the appliance as it is.
    assert.deepEqual(await store.appliances.update('gpu', {}), a);
    assert.equal((await store.hosts.get('gpu-0-0'))?.appliance, 'gpu', 'its hosts keep it');
    assert.equal((await store.attributes.list({ scope: 'appliance', target: 'gpu' })).length, 1, 'its attributes stay');
    // The other appliances are untouched.
    assert.equal((await store.appliances.get('compute'))?.basename, 'compute');

    const before = await store.appliances.list();
    await assert.rejects(
      store.appliances.update('nope', { basename: 'x' }),
      (e: unknown) => e instanceof UserError && e.code === 'E_APPLIANCE_NOT_FOUND' && /"nope"/.test(e.message),
    );
    assert.deepEqual(await store.appliances.list(), before);
    // Inside a transaction that fails, the update is rolled back.
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.appliances.update('gpu', { basename: 'rolled' });
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal((await store.appliances.get('gpu'))?.basename, 'gpunode');
  }
});
