// Issue 4, "Conformance and interop": iPXE `sanboot` reads from the embedded iSCSI target, in the
// QEMU lab. A node registered with `netroot insert-ethers --mac M --appliance compute-diskless`
// gets its volume, target and CHAP from the iscsi-allocation plugin; we write a tiny boot sector
// into sector 0 of its volume file and set boot=sanboot. QEMU (SeaBIOS, e1000 iPXE ROM) then gets
// the iPXE script (`sanboot iscsi:...` with initiator IQN + CHAP), iPXE logs into the frontend's
// embedded target, reads sector 0, and the BIOS jumps to it: it prints a marker on COM1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../../src/lab/index.js';
import { openStore } from '../../src/store/index.js';
import { e2eSkip, netrootIn, startFrontend, writeLabConfig } from './helpers.js';
import { tempStateDir } from '../helpers/tmp.js';

const MAC = '52:54:00:12:36:01';
const MARKER = 'NETROOT-SANBOOT-OK';

/**
 * A 512-byte MBR boot sector, 16-bit real mode, loaded by the BIOS (here: via iPXE's INT 13h SAN
 * hook) at 0000:7C00. It writes the NUL-terminated text at 0x7C16 to COM1 (port 0x3F8; QEMU
 * -nographic/serial stdio shows it) and halts forever. Hand-assembled:
 *   0x00 31 C0     xor  ax,ax
 *   0x02 8E D8     mov  ds,ax
 *   0x04 BE 16 7C  mov  si,0x7C16        ; the text, at offset 0x16 of the sector
 *   0x07 BA F8 03  mov  dx,0x3F8         ; COM1 data port
 *   0x0A AC        lodsb                 ; loop: al = [ds:si++]
 *   0x0B 84 C0     test al,al
 *   0x0D 74 03     jz   0x12             ; 0x0F + 3: done
 *   0x0F EE        out  dx,al
 *   0x10 EB F8     jmp  0x0A             ; 0x12 - 8: loop
 *   0x12 FA        cli                   ; done
 *   0x13 F4        hlt
 *   0x14 EB FC     jmp  0x12             ; 0x16 - 4: halt again (NMI/SMI wake-ups)
 *   0x16 "NETROOT-SANBOOT-OK\r\n" 00
 *   0x1FE 55 AA    boot signature
 */
function markerBootSector(text = `${MARKER}\r\n`): Buffer {
  const code = Buffer.from([
    0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xfa, 0xf4, 0xeb, 0xfc,
  ]);
  assert.equal(code.length, 0x16, 'the text starts right after the code');
  const s = Buffer.alloc(512);
  code.copy(s, 0);
  const n = s.write(text, 0x16, 'latin1');
  assert.ok(0x16 + n < 510, 'text and its NUL fit before the signature');
  s[0x1fe] = 0x55;
  s[0x1ff] = 0xaa;
  return s;
}

test("sanboot: iPXE logs into the embedded iSCSI target with the node's IQN and CHAP, reads sector 0 and boots it", {
  skip: e2eSkip,
  timeout: 240_000,
}, async () => {
  const dir = tempStateDir('nrt-e2e-sanboot-');
  const lab = new Lab({ workDir: join(dir, 'lab') });
  const netroot = (...args: string[]) => netrootIn(lab, dir, ...args);
  try {
    await lab.up();
    writeLabConfig(dir, lab, '', { iscsi: true });
    const frontendLog: string[] = [];
    const frontend = await startFrontend(lab, dir, (l) => frontendLog.push(l));
    try {
      const ie = await netroot('insert-ethers', '--mac', MAC, '--appliance', 'compute-diskless', '--json');
      assert.equal(ie.code, 0, `insert-ethers failed: ${ie.err}`);
      const host = (JSON.parse(ie.out) as { name: string }).name;
      assert.equal(host, 'compute-0-0');

      // The volume is a sparse file <state>/volumes/<host>.img (storage/README.md), exported live
      // by the target: write in place (r+, no truncation) so the target's view is the same file.
      const fd = openSync(join(dir, 'volumes', `${host}.img`), 'r+');
      try {
        assert.equal(writeSync(fd, markerBootSector(), 0, 512, 0), 512);
      } finally {
        closeSync(fd);
      }
      const set = await netroot('host', 'set', host, 'boot=sanboot');
      assert.equal(set.code, 0, set.err);

      const node = lab.bootNode({ mac: MAC, firmware: 'bios', memoryMb: 256 });
      try {
        await node.waitFor(MARKER, 180_000);
        process.stdout.write(`# power-on to boot-sector marker over iSCSI sanboot: ${((Date.now() - node.startedAt) / 1000).toFixed(1)} s\n`);
      } finally {
        await node.powerOff();
      }
      // The marker came from the SAN disk: iPXE hooked it as INT 13h drive 0x80 and booted it.
      const out = node.console.output;
      const booting = out.indexOf('Booting from SAN device');
      assert.ok(booting >= 0 && booting < out.indexOf(MARKER), `iPXE booted the SAN device before the marker:\n${out.slice(-1500)}`);
      const initiator = `iqn.2026-11.local.netroot:initiator.${host}`;
      const up = frontendLog.find((l) => l.includes('iscsi: session up') && l.includes(initiator) && l.includes(`:${host}`));
      assert.ok(up, `the embedded target logged the node's normal session:\n${frontendLog.filter((l) => l.includes('iscsi')).join('\n')}`);
      assert.match(up, /type="Normal"/);
      assert.ok(!frontendLog.some((l) => l.includes('login refused')), 'no refused login');
      const store = openStore(dir);
      const secret = (await store.attributes.list({ scope: 'host', target: host })).find((a) => a.name === 'iscsi_secret')?.value;
      await store.close();
      assert.ok(secret && secret.length >= 12, 'the node has a CHAP secret');
      assert.ok(!frontendLog.some((l) => l.includes(secret)), 'the CHAP secret is never logged');
    } finally {
      frontend.kill('SIGTERM');
    }
  } finally {
    await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
});
