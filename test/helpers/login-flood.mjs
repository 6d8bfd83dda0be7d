// A flood of wrong logins against a registry in secure mode, run as its own process so the test or
// benchmark that measures the registry keeps an event loop of its own. Loopback only: one client per
// source address 127.0.0.<first> ... 127.0.0.<first + clients - 1>, each sending GET /v2/ with
// Basic credentials one request after the other, as fast as the answers come (after a 429 it pauses
// `pauseMs`, ignoring Retry-After as a guesser would).
//
//   node login-flood.mjs '{"port":5000,"ca":"/path/ca.crt","first":2,"clients":30,"user":null}'
//
// `user` null: every request tries a new user name (spraying); a name: new passwords for that user.
// Prints `started` once the first answer came, and on SIGTERM (or stdin closing) one JSON line:
// {"statuses":{"401":n,"429":m},"errors":e} and exits.
import https from 'node:https';
import { readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const ca = readFileSync(o.ca);
const pauseMs = o.pauseMs ?? 50;
const statuses = {};
let errors = 0;
let started = false;
let stopping = false;

function once(agent, localAddress, authorization) {
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port: o.port, servername: 'localhost', path: '/v2/', ca, agent, localAddress, headers: { authorization } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function client(i) {
  const localAddress = `127.0.0.${o.first + i}`;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  for (let n = 0; !stopping; n++) {
    const user = o.user ?? `spray-${i}-${n}`;
    const authorization = `Basic ${Buffer.from(`${user}:guess-${i}-${n}`).toString('base64')}`;
    const status = await once(agent, localAddress, authorization);
    if (status === 0) errors++;
    else statuses[status] = (statuses[status] ?? 0) + 1;
    if (!started) {
      started = true;
      process.stdout.write('started\n');
    }
    if (status === 429 || status === 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  agent.destroy();
}

function stop() {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`${JSON.stringify({ statuses, errors })}\n`, () => process.exit(0));
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
for (let i = 0; i < o.clients; i++) void client(i);
