// Plain HTTP sent to the HTTPS port: the answer is 400 "Client sent an HTTP request to an HTTPS
// server." (as Go's net/http says, so docker shows that instead of `EOF`), the connection closes,
// HTTPS goes on working on the same port, and so do TLS clients that send their hello in pieces.
// Which request lines are told: those OpenSSL recognises (GET, POST, HEAD, PUT; registry/https-only.ts).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestRegistry } from './helpers/registry.js';
import { missingPeer } from './helpers/peers.js';

const run = promisify(execFile);

function httpsGet(port: number, ca: Buffer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port, path, ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** rawExchange sends `data` over plain TCP and collects everything until the server closes. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => s.write(data));
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('no close within 10 s')));
  });
}

t.test('plain HTTP to the TLS port gets 400 and the text; HTTPS keeps working', { skip: missingPeer('curl') }, async (t) => {
  // Opened explicitly (secure mode asks for a login by default): this test is about the transport.
  const reg = await startTestRegistry(t, { args: ['--tls', '--pull', 'anonymous', '--push', 'anonymous'] });
  const ca = await readFile(join(reg.storage, 'certs', 'ca.crt'));

  // curl as docker's HTTP fallback would: plain HTTP to the HTTPS port.
  const curl = await run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${reg.port}/v2/`]).catch(
    (err) => err as { stdout: string; stderr: string },
  );
  const lines = curl.stdout.trimEnd().split('\n');
  t.equal(lines.at(-1), '400', `curl sees 400 (${curl.stderr ?? ''})`);
  t.match(curl.stdout, 'Client sent an HTTP request to an HTTPS server.');

  // fetch (undici) likewise.
  const res = await fetch(`http://127.0.0.1:${reg.port}/v2/_catalog`);
  t.equal(res.status, 400);
  t.match(await res.text(), /client sent an HTTP request to an HTTPS server/i);

  // The raw answer: a complete HTTP/1.1 response, then the server closes.
  const raw = await rawExchange(reg.port, 'HEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\n');
  t.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(raw, /\r\nConnection: close\r\n/i);

  // HTTPS on the same port, before and after; a TLS hello sent one byte at a time still works.
  t.equal((await httpsGet(reg.port, ca, '/v2/')).status, 200);
  const slow = await new Promise<string>((resolve, reject) => {
    const raw = netConnect({ host: '127.0.0.1', port: reg.port });
    // Dribble the first bytes of the ClientHello: the record header arrives in pieces.
    const realWrite = raw.write.bind(raw);
    let first = true;
    raw.write = ((chunk: Buffer, ...rest: unknown[]) => {
      if (first && Buffer.isBuffer(chunk) && chunk.length > 3) {
        first = false;
        realWrite(chunk.subarray(0, 1));
        setTimeout(() => realWrite(chunk.subarray(1, 3)), 50);
        setTimeout(() => (realWrite as (c: Buffer, ...r: unknown[]) => boolean)(chunk.subarray(3), ...rest), 100);
        return true;
      }
      return (realWrite as (c: Buffer, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof raw.write;
    const sock = tlsConnect({ socket: raw, servername: 'localhost', ca }, () => {
      sock.write('GET /v2/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    let out = '';
    sock.on('data', (c: Buffer) => (out += c.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
  t.match(slow, /^HTTP\/1\.1 200 OK/, 'a ClientHello in pieces is served');

  // Many plain-HTTP requests at once leave the server serving.
  const many = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${reg.port}/v2/`).then((r) => r.status)));
  t.same(new Set(many), new Set([400]));
  t.equal((await httpsGet(reg.port, ca, '/v2/')).status, 200, 'HTTPS still answers');
  t.equal(reg.process.exitCode, null, 'the server runs');
});
