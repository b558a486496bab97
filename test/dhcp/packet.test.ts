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

// Edges found by mutation testing (docs/mutation.md): the 240-byte minimum, each error's field and
// message, fields without a NUL, options split across the options area and file, and each typed view
// of an absent, short or odd option.
test('decoder edges: 239 vs 240 bytes, error fields and messages, a sname without NUL, PAD is no option, continuation into file', () => {
  const head = IPXE_DISCOVER.subarray(0, 240);
  const decodeErr = (buf: Buffer) => {
    try {
      decodeDhcp(buf);
    } catch (e) {
      if (e instanceof DecodeError) return { code: e.code, field: e.field, offset: e.offset, message: e.message };
      throw e;
    }
    return assert.fail('decoded');
  };
  assert.deepEqual(decodeErr(head.subarray(0, 239)), {
    code: 'E_DHCP_SHORT',
    field: 'message',
    offset: 239,
    message: 'message at byte 239: 239 bytes is shorter than a DHCP header (240)',
  });
  // 240 bytes is a whole header: what is missing is the END of the options
  assert.deepEqual(decodeErr(head), { code: 'E_DHCP_NO_END', field: 'options', offset: 240, message: 'options at byte 240: options end without END (255)' });
  assert.deepEqual(decodeErr(Buffer.concat([Buffer.from([3]), IPXE_DISCOVER.subarray(1)])), {
    code: 'E_DHCP_OP',
    field: 'op',
    offset: 0,
    message: 'op at byte 0: op must be 1 or 2, got 3',
  });
  const hlen17 = Buffer.from(IPXE_DISCOVER);
  hlen17[2] = 17;
  assert.equal(decodeErr(hlen17).message, 'hlen at byte 2: hlen 17 exceeds 16');
  const cookie = Buffer.from(IPXE_DISCOVER);
  cookie[239] = 0x64;
  assert.equal(decodeErr(cookie).message, 'magic cookie at byte 236: expected 0x63825363, got 0x63825364');
  const mac = { xid: '00000003', mac: '525400000003' };
  const short = decodeErr(packet(mac, '3501013401'));
  assert.deepEqual([short.code, short.field], ['E_DECODE_SHORT', 'options option 52 data']);
  assert.equal(decodeErr(packet(mac, '35')).field, 'options option 53 length');
  const overload = decodeErr(packet(mac, '350101340107ff'));
  assert.deepEqual([overload.code, overload.field, overload.offset], ['E_DHCP_OVERLOAD', 'option 52', 240]);
  // an option in an overloaded field that runs past the field's end names the field
  const fileOff = 108;
  const snameOff = 44;
  const runsOver = (value: number, at: number) => {
    const p = packet(mac, `35010134010${value}ff`);
    p.fill(0x41, at, at + (at === fileOff ? 128 : 64));
    p[at] = 66;
    p[at + 1] = 200;
    return p;
  };
  assert.equal(decodeErr(runsOver(1, fileOff)).field, 'file option 66 data');
  assert.equal(decodeErr(runsOver(2, snameOff)).field, 'sname option 66 data');
  // a sname of 64 bytes without a NUL is all text
  const full = Buffer.from(IPXE_DISCOVER);
  full.fill(0x73, snameOff, snameOff + 64);
  assert.equal(decodeDhcp(full).sname, 's'.repeat(64));
  // PAD bytes are skipped, never an option 0
  const padded = decodeDhcp(packet(mac, '0000350101ff'));
  assert.deepEqual([...padded.options.keys()], [Opt.MESSAGE_TYPE]);
  // an option begun in the options area continues in file (RFC 3396 concatenation across fields)
  const split = packet(mac, '350101 0c02 6162 3401 01 ff'.replace(/ /g, ''));
  Buffer.from('0c02 6364 ff'.replace(/ /g, ''), 'hex').copy(split, fileOff);
  assert.equal(textOption(decodeDhcp(split), Opt.HOSTNAME), 'abcd');
});

test('typed views of absent, short and odd options: null, never a throw', () => {
  const mac = { xid: '00000004', mac: '525400000004' };
  const bare = decodeDhcp(packet(mac, 'ff'));
  assert.deepEqual(
    [messageType(bare), clientArch(bare), textOption(bare, Opt.HOSTNAME), isIpxe(bare), clientUuid(bare), ipOption(bare, Opt.REQUESTED_IP)],
    [null, null, null, false, null, null],
  );
  const with_ = (hex: string) => decodeDhcp(packet(mac, hex.replace(/ /g, '') + 'ff'));
  assert.equal(clientArch(with_('5d01 07')), null, 'a one-byte arch list');
  assert.equal(clientArch(with_('5d02 0007')), 7);
  assert.equal(clientArch(with_('5d04 0009 0007')), 9, 'the first of the list');
  assert.equal(textOption(with_('0c05 61 00 62 00 00'), Opt.HOSTNAME), 'a\0b', 'only trailing NULs are cut');
  assert.equal(textOption(with_('0c02 6100'), Opt.HOSTNAME), 'a');
  assert.equal(isIpxe(with_('af00')), true, 'option 175 alone');
  assert.equal(isIpxe(with_('4d04 69505845')), true, 'raw user class "iPXE"');
  assert.equal(isIpxe(with_('4d05 04 69505845')), true, 'RFC 3004 user class "iPXE"');
  assert.equal(isIpxe(with_('4d04 69707865')), false, 'user class "ipxe" is not iPXE');
  const guid = '00' + '00112233445566778899aabbccddeeff';
  assert.equal(clientUuid(with_('6111' + guid)), '00112233-4455-6677-8899-aabbccddeeff');
  assert.equal(clientUuid(with_('6111' + '01' + guid.slice(2))), null, 'type 1 is not a GUID');
  assert.equal(clientUuid(with_('6110' + guid.slice(0, 32))), null, '16 bytes');
  assert.equal(clientUuid(with_('6112' + guid + '00')), null, '18 bytes');
  assert.equal(ipOption(with_('3204 0a000001'), Opt.REQUESTED_IP), '10.0.0.1');
  assert.equal(ipOption(with_('3203 0a0000'), Opt.REQUESTED_IP), null);
  assert.equal(ipOption(with_('3205 0a00000100'), Opt.REQUESTED_IP), null);
});

test('encoder edges: dotted quads, field lengths, latin1, chaddr beyond 16 bytes, option codes, 255-byte chunks', () => {
  const base = {
    op: 2,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 1,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '10.0.0.1',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Buffer.from('525400000005', 'hex'),
    sname: '',
    file: '',
    options: new Map<number, Buffer>(),
  };
  for (const good of ['255.255.255.255', '0.0.0.0', '001.2.3.4', '9.99.199.9']) {
    assert.equal(decodeDhcp(encodeDhcp({ ...base, yiaddr: good })).yiaddr, good.replace(/^001/, '1'), good);
  }
  for (const bad of ['1234.0.0.1', '0001.2.3.4', '1x2.3.4', '256.0.0.1', '1..2.3', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', 'a.b.c.d', '1.2.3.4 ']) {
    assert.throws(() => encodeDhcp({ ...base, yiaddr: bad }), { name: 'RangeError', message: `not an IPv4 address: ${bad}` }, bad);
  }
  // sname holds 63 bytes and a NUL; file 127 and a NUL
  assert.equal(decodeDhcp(encodeDhcp({ ...base, sname: 's'.repeat(63) })).sname, 's'.repeat(63));
  assert.throws(() => encodeDhcp({ ...base, sname: 's'.repeat(64) }), { name: 'RangeError', message: `field longer than 63 bytes: ${'s'.repeat(64)}` });
  assert.equal(decodeDhcp(encodeDhcp({ ...base, file: 'f'.repeat(127) })).file, 'f'.repeat(127));
  // fields are latin1: one byte per character
  const latin = encodeDhcp({ ...base, file: 'é' });
  assert.deepEqual([latin[108], latin[109]], [0xe9, 0]);
  // a chaddr longer than 16 bytes is cut at 16: sname stays empty
  const long = encodeDhcp({ ...base, chaddr: Buffer.alloc(20, 0xab) });
  assert.deepEqual([long.subarray(28, 44).toString('hex'), long[44]], ['ab'.repeat(16), 0]);
  // option codes 1..254 (0 is PAD and 255 END: neither carries a length)
  for (const code of [1, 254]) assert.ok(decodeDhcp(encodeDhcp({ ...base, options: new Map([[code, Buffer.from([7])]]) })).options.has(code));
  for (const code of [0, 255, -1, 1.5, 256]) {
    assert.throws(
      () => encodeDhcp({ ...base, options: new Map([[code, Buffer.from([7])]]) }),
      { name: 'RangeError', message: `option code ${code}` },
      String(code),
    );
  }
  // a 255-byte value is one chunk, 256 bytes two (RFC 3396)
  const chunks = (n: number) => {
    const out = encodeDhcp({ ...base, options: new Map([[43, Buffer.alloc(n, 1)]]) });
    return out.subarray(240, 240 + n + 2 * Math.ceil(n / 255) + 1).toString('hex');
  };
  assert.equal(chunks(255), '2bff' + '01'.repeat(255) + 'ff');
  assert.equal(chunks(256), '2bff' + '01'.repeat(255) + '2b0101' + 'ff');
});
