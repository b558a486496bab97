import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeDhcp,
  encodeDhcp,
  messageType,
  clientMac,
  clientArch,
  isIpxe,
  clientUuid,
  textOption,
  ipOption,
  Opt,
  MessageType,
} from '../../src/dhcp/index.js';
import { DecodeError } from '../../src/errors.js';
import { IPXE_DISCOVER, BIOS_DISCOVER, UEFI_RELAYED_DISCOVER, IPXE_REQUEST, packet } from '../fixtures/dhcp/packets.js';

test('decodes an iPXE DISCOVER (option 175, user class iPXE, arch 0)', () => {
  const m = decodeDhcp(IPXE_DISCOVER);
  assert.equal(m.xid, 0xa1b2c3d4);
  assert.equal(messageType(m), MessageType.DISCOVER);
  assert.equal(clientMac(m), '52:54:00:aa:00:01');
  assert.equal(clientArch(m), 0);
  assert.equal(isIpxe(m), true);
  assert.equal(textOption(m, Opt.VENDOR_CLASS), 'PXEClient:Arch:00000:UNDI:002001');
  assert.equal(m.flags, 0x8000);
});

test('decodes a BIOS PXE ROM DISCOVER (no iPXE, UUID) and a relayed UEFI one (arch 7, giaddr, option 82)', () => {
  const b = decodeDhcp(BIOS_DISCOVER);
  assert.equal(isIpxe(b), false);
  assert.equal(clientArch(b), 0);
  assert.equal(clientUuid(b), '00112233-4455-6677-8899-aabbccddeeff');
  const u = decodeDhcp(UEFI_RELAYED_DISCOVER);
  assert.equal(clientArch(u), 7);
  assert.equal(u.giaddr, '10.77.0.1');
  assert.equal(u.options.get(Opt.RELAY_AGENT)?.toString('hex'), '0106657468302f31');
  const r = decodeDhcp(IPXE_REQUEST);
  assert.equal(ipOption(r, Opt.REQUESTED_IP), '10.1.255.254');
  assert.equal(ipOption(r, Opt.SERVER_ID), '10.1.1.1');
});

test('PAD bytes, repeated options (RFC 3396) and option overload into file and sname', () => {
  // PAD PAD, option 12 split in two parts, overload=3 → more options in file and sname
  const opts = '350101' + '00 00' + '0c03 616263' + '0c02 6465' + '3401 03' + 'ff';
  const p = packet({ xid: '00000001', mac: '525400000001' }, opts);
  const fileOff = 236 - 128;
  const snameOff = 236 - 128 - 64;
  Buffer.from('430466696c65ff', 'hex').copy(p, fileOff); // 67 bootfile "file"
  Buffer.from('4202 6869 3401 01 ff'.replace(/ /g, ''), 'hex').copy(p, snameOff); // 66 "hi", nested overload ignored
  const m = decodeDhcp(p);
  assert.equal(textOption(m, Opt.HOSTNAME), 'abcde');
  assert.equal(textOption(m, Opt.BOOTFILE), 'file');
  assert.equal(textOption(m, 66), 'hi');
  assert.equal(m.options.has(Opt.OVERLOAD), false);
  assert.equal(m.file, '');
});

test('encodes an OFFER whose key fields match hand-built bytes', () => {
  const req = decodeDhcp(IPXE_DISCOVER);
  const out = encodeDhcp({
    ...req,
    op: 2,
    yiaddr: '10.1.255.254',
    siaddr: '10.1.1.1',
    file: 'undionly.kpxe',
    options: new Map([
      [Opt.MESSAGE_TYPE, Buffer.from([2])],
      [Opt.SERVER_ID, Buffer.from([10, 1, 1, 1])],
      [Opt.LEASE_TIME, Buffer.from('00015180', 'hex')],
    ]),
  });
  assert.ok(out.length >= 300);
  assert.equal(out.subarray(0, 4).toString('hex'), '02010600');
  assert.equal(out.subarray(4, 8).toString('hex'), 'a1b2c3d4');
  assert.equal(out.subarray(16, 20).toString('hex'), '0a01fffe'); // yiaddr
  assert.equal(out.subarray(20, 24).toString('hex'), '0a010101'); // siaddr
  assert.equal(out.subarray(28, 34).toString('hex'), '525400aa0001');
  assert.equal(out.subarray(108, 121).toString('latin1'), 'undionly.kpxe');
  assert.equal(out.subarray(236, 240).toString('hex'), '63825363');
  assert.equal(out.subarray(240, 256).toString('hex'), '350102' + '36040a010101' + '330400015180' + 'ff');
  // long option values split per RFC 3396 and read back whole
  const long = Buffer.alloc(600, 0x41);
  const again = decodeDhcp(
    encodeDhcp({
      ...req,
      options: new Map([
        [Opt.MESSAGE_TYPE, Buffer.from([1])],
        [Opt.BOOTFILE, long],
      ]),
    }),
  );
  assert.ok(again.options.get(Opt.BOOTFILE)!.equals(long));
});

test('malformed input: each a DecodeError naming field and offset', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [IPXE_DISCOVER.subarray(0, 100), /message at byte 100/],
    [Buffer.concat([IPXE_DISCOVER.subarray(0, 236), Buffer.from('63825364', 'hex'), IPXE_DISCOVER.subarray(240)]), /magic cookie at byte 236/],
    [packet({ xid: '00000001', mac: '525400000001' }, '350101 0c10 6162'.replace(/ /g, '')), /option 12 data at byte 245/],
    [packet({ xid: '00000001', mac: '525400000001' }, '350101'), /options end without END/],
    [packet({ xid: '00000001', mac: '525400000001' }, '350101 3401 07 ff'.replace(/ /g, '')), /overload/],
    [Buffer.concat([Buffer.from('03', 'hex'), IPXE_DISCOVER.subarray(1)]), /op at byte 0/],
    [Buffer.concat([IPXE_DISCOVER.subarray(0, 2), Buffer.from('20', 'hex'), IPXE_DISCOVER.subarray(3)]), /hlen/],
  ];
  for (const [buf, re] of cases) {
    assert.throws(
      () => decodeDhcp(buf),
      (e: unknown) => e instanceof DecodeError && re.test(e.message),
      re.source,
    );
  }
});

test('encoder, whole message byte for byte: fixed fields, empty option, RFC 3396 split, END, BOOTP padding; bad fields rejected', () => {
  const chaddr = Buffer.from('02aabbccdd0100000000000000000000', 'hex');
  const base = {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid: 0xdeadbeef,
    secs: 3,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '10.32.0.10',
    siaddr: '10.32.0.1',
    giaddr: '10.32.0.2',
    chaddr,
    sname: 'fe',
    file: 'ipxe.efi',
  };
  const long = Buffer.alloc(300, 0x42);
  const out = encodeDhcp({
    ...base,
    options: new Map([
      [Opt.MESSAGE_TYPE, Buffer.from([5])],
      [Opt.USER_CLASS, Buffer.alloc(0)],
      [Opt.BOOTFILE, long],
    ]),
  });
  // Built by hand, independently of the encoder.
  const expected = Buffer.concat([
    Buffer.from('02010601' + 'deadbeef' + '0003' + '8000' + '00000000' + '0a20000a' + '0a200001' + '0a200002', 'hex'),
    chaddr,
    Buffer.concat([Buffer.from('fe', 'latin1'), Buffer.alloc(62)]),
    Buffer.concat([Buffer.from('ipxe.efi', 'latin1'), Buffer.alloc(120)]),
    Buffer.from('63825363' + '350105' + '4d00', 'hex'),
    Buffer.from([67, 255]),
    long.subarray(0, 255),
    Buffer.from([67, 45]),
    long.subarray(255),
    Buffer.from([255]),
  ]);
  assert.equal(out.toString('hex'), expected.toString('hex'));
  // a short message is zero-padded to the 300-byte BOOTP minimum
  const short = encodeDhcp({ ...base, options: new Map([[Opt.MESSAGE_TYPE, Buffer.from([2])]]) });
  assert.equal(short.length, 300);
  assert.equal(short.subarray(240, 244).toString('hex'), '350102ff');
  assert.ok(short.subarray(244).every((b) => b === 0));
  for (const bad of ['10.32.0', '10.32.0.256', '10.32.0.1.5', '10..0.1', 'a.b.c.d', '1000.1.1.1', '']) {
    assert.throws(() => encodeDhcp({ ...base, yiaddr: bad, options: new Map() }), RangeError, bad);
  }
  assert.throws(() => encodeDhcp({ ...base, file: 'x'.repeat(128), options: new Map() }), RangeError);
  assert.throws(() => encodeDhcp({ ...base, options: new Map([[256, Buffer.from([1])]]) }), RangeError);
  assert.equal(clientMac(decodeDhcp(out)), '02:aa:bb:cc:dd:01');
});

// Fixed fields (RFC 2131 §2): chaddr is 16 bytes, so hlen may be 0..16 and no more.
test('hlen boundary: 16 (the whole chaddr) decodes, 17 is a DecodeError at byte 2', () => {
  const withHlen = (n: number) => {
    const p = Buffer.from(IPXE_DISCOVER);
    p[2] = n;
    return p;
  };
  assert.equal(decodeDhcp(withHlen(16)).hlen, 16);
  assert.equal(decodeDhcp(withHlen(0)).hlen, 0);
  for (const n of [17, 255]) {
    assert.throws(
      () => decodeDhcp(withHlen(n)),
      (e: unknown) => e instanceof DecodeError && e.code === 'E_DHCP_HLEN' && /hlen at byte 2/.test(e.message),
      String(n),
    );
  }
});

// RFC 2132 §9.3: overload 1 = `file` holds options, 2 = `sname` holds options, 3 = both. A field
// that is not overloaded keeps its text, even when its bytes look like options.
test('option overload 1 reads only file, 2 reads only sname; the other field stays a string', () => {
  const fileOff = 236 - 128;
  const snameOff = 236 - 128 - 64;
  const build = (value: number) => {
    const p = packet({ xid: '00000002', mac: '525400000002' }, '350101' + '3401' + value.toString(16).padStart(2, '0') + 'ff');
    Buffer.from('4304' + '66696c65' + 'ff', 'hex').copy(p, fileOff); // 67 "file"
    Buffer.from('4202' + '6869' + 'ff', 'hex').copy(p, snameOff); // 66 "hi"
    return p;
  };
  // The bytes an un-overloaded field holds, read as a C string ("C\x04file\xff" and "B\x02hi\xff").
  const fileText = Buffer.from('430466696c65ff', 'hex').toString('latin1');
  const snameText = Buffer.from('42026869ff', 'hex').toString('latin1');

  const one = decodeDhcp(build(1));
  assert.equal(textOption(one, Opt.BOOTFILE), 'file');
  assert.equal(one.options.has(66), false, 'overload 1: sname is not read for options');
  assert.equal(one.file, '');
  assert.equal(one.sname, snameText);

  const two = decodeDhcp(build(2));
  assert.equal(textOption(two, 66), 'hi');
  assert.equal(two.options.has(Opt.BOOTFILE), false, 'overload 2: file is not read for options');
  assert.equal(two.sname, '');
  assert.equal(two.file, fileText);

  const three = decodeDhcp(build(3));
  assert.deepEqual([textOption(three, Opt.BOOTFILE), textOption(three, 66), three.file, three.sname], ['file', 'hi', '', '']);
  assert.deepEqual([...three.options.keys()], [Opt.MESSAGE_TYPE, Opt.BOOTFILE, 66], 'file is read before sname (RFC 2131 §4.1)');

  for (const bad of ['00', '04', 'ff']) {
    const p = packet({ xid: '00000002', mac: '525400000002' }, '350101' + '3401' + bad + 'ff');
    assert.throws(() => decodeDhcp(p), { code: 'E_DHCP_OVERLOAD' }, bad);
  }
  // a two-byte overload value is refused too
  assert.throws(() => decodeDhcp(packet({ xid: '00000002', mac: '525400000002' }, '350101' + '3402 0101'.replace(/ /g, '') + 'ff')), {
    code: 'E_DHCP_OVERLOAD',
  });
  // options in an overloaded field without END: tolerated (the field is fixed-size)
  const noEnd = build(1);
  Buffer.from('4304' + '66696c65', 'hex').copy(noEnd, fileOff);
  noEnd.fill(0, fileOff + 6, fileOff + 128);
  assert.equal(textOption(decodeDhcp(noEnd), Opt.BOOTFILE), 'file');
});
