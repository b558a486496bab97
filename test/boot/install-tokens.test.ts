// Install tokens on an injected clock: valid until their expiry, refused from it on (E_TOKEN_EXPIRED),
// single-use, bound to the address that fetched the kickstart; a new token revokes the old one.
import assert from 'node:assert/strict';
import { InstallTokens } from '../../src/boot/install-tokens.js';
import { forEachBackend } from '../helpers/store-backends.js';

forEachBackend('install tokens: expiry on the injected clock, the bound address, single use, revocation', async (b) => {
  const store = await b.open();
  {
    await store.hosts.add({
      name: 'compute-0-0',
      appliance: 'compute-diskless',
      rack: 0,
      rank: 0,
      interfaces: [{ mac: '52:54:00:00:0b:01', ip: '10.1.0.5', subnet: '10.1.0.0/16', device: 'eth0' }],
    });
    let clock = Date.UTC(2026, 11, 5, 12, 0, 0);
    const tokens = new InstallTokens(store, 60, () => clock);
    const t = await tokens.issue('compute-0-0', '10.1.0.5');
    const row = await store.tokens.find((await tokens.verify(t, '10.1.0.5')).hash);
    assert.equal(row?.issuedAt, '2026-12-05T12:00:00.000Z');
    assert.equal(row?.expiresAt, '2026-12-05T12:01:00.000Z');
    clock += 59_999;
    assert.equal((await tokens.verify(t, '10.1.0.5')).host, 'compute-0-0', 'valid until its expiry');
    await assert.rejects(tokens.verify(t, '10.1.0.6'), { code: 'E_TOKEN_ADDRESS' });
    clock += 1;
    await assert.rejects(tokens.verify(t, '10.1.0.5'), { code: 'E_TOKEN_EXPIRED' });
    const fresh = await tokens.issue('compute-0-0', '10.1.0.5');
    const { hash } = await tokens.verify(fresh, '10.1.0.5');
    assert.equal(await store.tokens.consume(hash), true);
    await assert.rejects(tokens.verify(fresh, '10.1.0.5'), { code: 'E_TOKEN_USED' });
    const again = await tokens.issue('compute-0-0', '10.1.0.5');
    const newer = await tokens.issue('compute-0-0', '10.1.0.5');
    await assert.rejects(tokens.verify(again, '10.1.0.5'), { code: 'E_TOKEN_INVALID' }, 'a newer token revokes an unused older one');
    assert.equal((await tokens.verify(newer, '10.1.0.5')).host, 'compute-0-0');
    await assert.rejects(tokens.verify('short', '10.1.0.5'), { code: 'E_TOKEN_INVALID' });
  }
});
