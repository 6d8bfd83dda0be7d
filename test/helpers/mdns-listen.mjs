// mdns-listen: a minimal mDNS querier for tests, run INSIDE a test's network namespace (never on the
// host's network). It joins 224.0.0.251:5353 on the given interface address, asks for the given
// names every second, and prints every answer record as one JSON line until killed.
// usage: node mdns-listen.mjs <interface-address> <name/type>... (type: PTR, A, SRV, TXT)
import dgram from 'node:dgram';

const [ifaceAddr, ...questions] = process.argv.slice(2);
const TYPES = { A: 1, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 };
const NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));

function encodeName(name) {
  const parts = name.replace(/\.$/, '').split('.');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([Buffer.byteLength(p)]), Buffer.from(p)])), Buffer.from([0])]);
}

function query() {
  const qs = questions.map((q) => {
    const [name, type] = q.split('/');
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(TYPES[type] ?? 255, 0);
    tail.writeUInt16BE(1, 2); // IN, multicast response wanted (QU bit clear)
    return Buffer.concat([encodeName(name), tail]);
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(qs.length, 4);
  return Buffer.concat([header, ...qs]);
}

function readName(buf, offset) {
  const labels = [];
  let jumped = false;
  let end = offset;
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[offset];
    if (len === 0) {
      if (!jumped) end = offset + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (!jumped) end = offset + 2;
      offset = buf.readUInt16BE(offset) & 0x3fff;
      jumped = true;
      continue;
    }
    labels.push(buf.subarray(offset + 1, offset + 1 + len).toString());
    offset += 1 + len;
  }
  return [labels.join('.'), end];
}

function parse(buf) {
  const qd = buf.readUInt16BE(4);
  const total = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  let off = 12;
  for (let i = 0; i < qd; i++) off = readName(buf, off)[1] + 4;
  const out = [];
  for (let i = 0; i < total; i++) {
    const [name, o] = readName(buf, off);
    const type = buf.readUInt16BE(o);
    const ttl = buf.readUInt32BE(o + 4);
    const len = buf.readUInt16BE(o + 8);
    const rdata = o + 10;
    let data;
    if (type === 1) data = [...buf.subarray(rdata, rdata + 4)].join('.');
    else if (type === 12) data = readName(buf, rdata)[0];
    else if (type === 33) data = { port: buf.readUInt16BE(rdata + 4), target: readName(buf, rdata + 6)[0] };
    else if (type === 16) {
      data = [];
      for (let p = rdata; p < rdata + len; p += 1 + buf[p]) data.push(buf.subarray(p + 1, p + 1 + buf[p]).toString());
    }
    if (NAMES[type]) out.push({ name, type: NAMES[type], ttl, data });
    off = rdata + len;
  }
  return out;
}

const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (msg) => {
  if (!(msg.readUInt16BE(2) & 0x8000)) return; // a query, not a response
  try {
    for (const r of parse(msg)) process.stdout.write(`${JSON.stringify(r)}\n`);
  } catch {
    // a packet this small parser does not understand
  }
});
socket.bind(5353, () => {
  socket.addMembership('224.0.0.251', ifaceAddr);
  socket.setMulticastInterface(ifaceAddr);
  socket.setMulticastTTL(255);
  const ask = () => socket.send(query(), 5353, '224.0.0.251');
  ask();
  setInterval(ask, 1000);
  process.stdout.write('{"listening":true}\n');
});
