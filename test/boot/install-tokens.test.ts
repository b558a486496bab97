// Install tokens on the database's clock: valid until their expiry whatever this process's clock says,
// refused from it on (E_TOKEN_EXPIRED),
// single-use, bound to the address that fetched the kickstart; a new token revokes the old one.
import assert from 'node:assert/strict';
import { InstallTokens } from '../../src/boot/install-tokens.js';
import { forEachBackend } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/wait.js';

forEachBackend(
  'install tokens: expiry on the database clock (a skewed process clock changes nothing), the bound address, single use, revocation',
  async (b) => {
    const store = await b.open();
    {
      await store.hosts.add({
        name: 'compute-0-0',
        appliance: 'compute-diskless',
        rack: 0,
        rank: 0,
        interfaces: [{ mac: '52:54:00:00:0b:01', ip: '10.1.0.5', subnet: '10.1.0.0/16', device: 'eth0' }],
      });
      // The process's own clock 10 hours ahead (a server whose clock is off): issue and expiry follow
      // the database's clock, so the token is valid for its whole lifetime all the same.
      const realNow = Date.now;
      Date.now = () => realNow() + 10 * 3600_000;
      let t: string;
      try {
        t = await new InstallTokens(store, 60).issue('compute-0-0', '10.1.0.5');
        assert.equal((await new InstallTokens(store, 60).verify(t, '10.1.0.5')).host, 'compute-0-0', 'valid on a server whose clock is 10 h ahead');
      } finally {
        Date.now = realNow;
      }
      const row = await store.tokens.find((await new InstallTokens(store).verify(t, '10.1.0.5')).hash);
      assert.ok(row && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(row.issuedAt), `issuedAt ISO: ${row?.issuedAt}`);
      assert.equal(Date.parse(row.expiresAt) - Date.parse(row.issuedAt), 60_000);
      assert.ok(Math.abs(Date.parse(row.issuedAt) - Date.now()) < 60_000, 'stamped with the database clock, not the skewed one');
      assert.equal(row.expired, false);
      await assert.rejects(new InstallTokens(store).verify(t, '10.1.0.6'), { code: 'E_TOKEN_ADDRESS' });
      // A short-lived token expires on the database's clock.
      const tokens = new InstallTokens(store, 0.2);
      const brief = await tokens.issue('compute-0-0', '10.1.0.5');
      await waitFor(
        async () => {
          try {
            await tokens.verify(brief, '10.1.0.5');
            return false;
          } catch (e) {
            assert.equal((e as { code?: string }).code, 'E_TOKEN_EXPIRED');
            return true;
          }
        },
        { what: 'the 0.2 s token to expire', timeoutMs: 10_000, intervalMs: 50 },
      );
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
  },
);
