// Logins under load, against the real server process in secure mode (loopback only): password
// checks off the event loop, the limiter per (address, user), per user and per address counting
// attempts still being checked, a credential verified lately passing a locked address, and our
// client waiting out a 429's Retry-After. Timings are measured by bench/logins.mjs, not asserted.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryHttpError } from '../tools/src/client/errors.js';
import { retryAfterMs, withRetry } from '../tools/src/client/retry.js';
import { writeBuild } from './helpers/deploy.js';
import { ROOT, runCli, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';

interface Secure {
  reg: TestRegistry;
  caFile: string;
  ca: Buffer;
  /** the default user's (yocto) password */
  password: string;
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/** startSecure runs the bundle's `serve --tls --auth`: every pull and push needs a login. */
async function startSecure(t: Test): Promise<Secure> {
  const reg = await startTestRegistry(t, { args: ['--tls', '--auth'] });
  const caFile = join(reg.storage, 'certs', 'ca.crt');
  return { reg, caFile, ca: await readFile(caFile), password: (await readFile(join(reg.storage, 'auth', 'password'), 'utf8')).trim() };
}

async function addUser(s: Secure, user: string, password: string): Promise<void> {
  const r = await runCli(['auth', 'add', user, '--password-stdin', '--storage', s.reg.storage], { input: `${password}\n` });
  if (r.code !== 0) throw new Error(r.stderr);
}

/** get sends GET `path` from `localAddress` (127.0.0.1 by default), with Basic credentials if given. */
function get(s: Secure, path: string, o: { user?: string; password?: string; localAddress?: string; agent?: https.Agent } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${o.user}:${o.password}`).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: s.reg.port, servername: 'localhost', ca: s.ca, path, headers, localAddress: o.localAddress, agent: o.agent ?? false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** countFor runs `fn` one call after the other for `ms` and counts the calls that finished. */
async function countFor(ms: number, fn: () => Promise<boolean>): Promise<number> {
  const until = Date.now() + ms;
  let n = 0;
  while (Date.now() < until) if (await fn()) n++;
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('30 addresses sending wrong passwords leave the event loop free for everyone else', async (t) => {
  const s = await startSecure(t);
  t.equal((await get(s, '/v2/', { user: 'yocto', password: s.password })).status, 200, 'yocto logs in (and is verified from now on)');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const cachedAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => {
    agent.destroy();
    cachedAgent.destroy();
  });
  const window = 2000;
  const measure = () =>
    Promise.all([
      countFor(window, async () => (await get(s, '/healthz', { agent })).status === 200),
      countFor(window, async () => (await get(s, '/v2/', { user: 'yocto', password: s.password, agent: cachedAgent })).status === 200),
    ]);
  const [health0, cached0] = await measure();

  // Every request a new user name: neither the (address, user) nor the user counters stop it, only
  // each address's after 10 failures; so the pool has comparisons to do all the time.
  const flood = spawn(
    process.execPath,
    [join(ROOT, 'test', 'helpers', 'login-flood.mjs'), JSON.stringify({ port: s.reg.port, ca: s.caFile, first: 2, clients: 30, user: null })],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  flood.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => flood.once('exit', () => r()));
  t.teardown(() => {
    flood.kill('SIGKILL');
  });
  await new Promise<void>((r) => flood.stdout.on('data', () => out.includes('started') && r()));
  const [health1, cached1] = await measure();
  flood.kill('SIGTERM');
  await exited;
  const got = JSON.parse(out.trim().split('\n').pop()!) as { statuses: Record<string, number> };

  t.ok((got.statuses['401'] ?? 0) >= 5, `the flood had passwords compared (${JSON.stringify(got.statuses)})`);
  t.notOk(got.statuses['200'], 'and none was accepted');
  // On the event loop the comparisons stalled everything for seconds (no /healthz at all in the
  // window); in worker threads only the CPU is shared. A generous factor: this is no benchmark.
  t.ok(health1 * 10 >= health0, `/healthz answered ${health1} times under the flood, ${health0} without`);
  t.ok(cached1 * 10 >= cached0, `a verified credential was served ${cached1} times under the flood, ${cached0} without`);
});

t.test('guesses sent at once: no more are compared than the free budget', async (t) => {
  const s = await startSecure(t);
  await addUser(s, 'guessed', 'the-real-one');
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => get(s, '/v2/', { user: 'guessed', password: `guess-${i}`, localAddress: '127.0.0.40' })),
  );
  const statuses = answers.map((a) => a.status).sort();
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429, 429], '5 compared (401), 3 refused before any was decided (429)');
  for (const a of answers.filter((a) => a.status === 429)) t.ok(Number(a.retryAfter) >= 1, `Retry-After: ${a.retryAfter}`);
  // Spread over 12 addresses, the user's own counter (10) stops them.
  const spread = await Promise.all(
    Array.from({ length: 12 }, (_, i) => get(s, '/v2/', { user: 'guessed', password: `spread-${i}`, localAddress: `127.0.0.${50 + i}` })),
  );
  const compared = spread.filter((a) => a.status === 401).length;
  t.ok(compared <= 5, `from 12 addresses, ${compared} more compared for the user (10 in all at most)`);
  t.equal(spread.filter((a) => a.status === 429).length, 12 - compared);
});

t.test('a success from an address does not wipe its failures against another user', async (t) => {
  const s = await startSecure(t);
  await addUser(s, 'victim', 'victim-secret');
  const from = '127.0.0.41';
  for (let i = 0; i < 5; i++) t.equal((await get(s, '/v2/', { user: 'victim', password: `guess-${i}`, localAddress: from })).status, 401);
  const locked = await get(s, '/v2/', { user: 'victim', password: 'guess-5', localAddress: from });
  t.equal(locked.status, 429);
  await sleep(Number(locked.retryAfter) * 1000 + 100);
  t.equal((await get(s, '/v2/', { user: 'yocto', password: s.password, localAddress: from })).status, 200, 'the same address logs in as yocto');
  t.equal((await get(s, '/v2/', { user: 'victim', password: 'guess-6', localAddress: from })).status, 401, 'past the wait, one more guess is compared');
  const again = await get(s, '/v2/', { user: 'victim', password: 'guess-7', localAddress: from });
  t.equal(again.status, 429, "and the next waits: yocto's login did not clear the failures against victim");
  t.ok(Number(again.retryAfter) >= 2, `the wait doubled (Retry-After: ${again.retryAfter})`);
});

t.test('a build host: a client failing on 127.0.0.1 does not lock out correct logins there', async (t) => {
  const s = await startSecure(t);
  await addUser(s, 'builder', 'builder-secret');

  // A misconfigured client repeats its one wrong password while another logs in for the first time.
  let stop = false;
  const misconfigured = (async () => {
    const seen: number[] = [];
    while (!stop) seen.push((await get(s, '/v2/', { user: 'builder', password: 'stale-password' })).status);
    return seen;
  })();
  await sleep(500);
  t.equal((await get(s, '/v2/', { user: 'builder', password: 'builder-secret' })).status, 200, 'the correct password is accepted');
  stop = true;
  const seen = await misconfigured;
  t.ok(seen.length >= 10, `the misconfigured client tried ${seen.length} times`);
  t.same([...new Set(seen)], [401], 'and was told 401 each time, never slowed down');

  // A client trying ever new passwords gets slowed down; the one who logged in is not.
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await get(s, '/v2/', { user: 'builder', password: `try-${i}` })).status);
  t.same(statuses.slice(-2), [429, 429], `the guessing client waits (${statuses.join(' ')})`);
  t.equal((await get(s, '/v2/', { user: 'builder', password: 'builder-secret' })).status, 200, 'a credential verified lately still passes');
  t.equal((await get(s, '/v2/', { user: 'yocto', password: s.password })).status, 200, 'as does another user from the same address');
});

t.test("the CLI waits out a 429's Retry-After and then gets in", async (t) => {
  const s = await startSecure(t);
  await addUser(s, 'pusher', 'pusher-secret');
  // Lock (127.0.0.1, pusher) for 4 s: five failures at once, then one more per interval.
  await Promise.all(Array.from({ length: 5 }, (_, i) => get(s, '/v2/', { user: 'pusher', password: `wrong-${i}` })));
  for (let i = 5; i < 7; i++) {
    let a = await get(s, '/v2/', { user: 'pusher', password: `wrong-${i}` });
    while (a.status === 429) {
      await sleep(Number(a.retryAfter) * 1000);
      a = await get(s, '/v2/', { user: 'pusher', password: `wrong-${i}` });
    }
    t.equal(a.status, 401);
  }
  const locked = await get(s, '/v2/', { user: 'pusher', password: 'pusher-secret' });
  t.equal(locked.status, 429, 'even the right password waits now');
  t.ok(Number(locked.retryAfter) >= 3, `Retry-After: ${locked.retryAfter} (more than the client's own backoff, under 2 s in all)`);

  const dir = await tempDir(t);
  await writeBuild(join(dir, 'images'), { machine: 'qemux86-64', image: 'waitimg', stamp: '20260112143022' });
  const started = Date.now();
  const push = await runCli(['push', '--quiet', '--creds', 'pusher:pusher-secret', '--ca-cert', s.caFile, '--registry', `localhost:${s.reg.port}`], {
    env: {
      DEPLOY_DIR_IMAGE: join(dir, 'images', 'qemux86-64'),
      CONTAINER_REGISTRY_TAG_STRATEGY: 'latest',
      HOME: dir,
      DOCKER_CONFIG: '',
      CONTAINER_REGISTRY_URL: '',
    },
  });
  t.equal(push.code, 0, push.stderr);
  t.ok(Date.now() - started >= (Number(locked.retryAfter) - 1) * 1000, 'after waiting as asked');
  t.notMatch(push.stdout + push.stderr, 'pusher-secret');
});

t.test('Retry-After: parsed, honoured up to a bound, within the attempts', async (t) => {
  t.equal(retryAfterMs('3'), 3000);
  t.equal(retryAfterMs(' 0 '), 0);
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000, 'an HTTP date');
  t.equal(retryAfterMs('soon'), undefined);
  t.equal(retryAfterMs(undefined), undefined);
  let n = 0;
  const started = Date.now();
  const v = await withRetry(
    async () => {
      if (++n < 2) throw new RegistryHttpError({ status: 429, method: 'GET', url: 'https://x/v2/', retryAfter: '1' });
      return 'ok';
    },
    { baseDelayMs: 1 },
  );
  t.equal(v, 'ok');
  t.ok(Date.now() - started >= 1000, 'waited the second asked, not the 1 ms backoff');
  n = 0;
  await t.rejects(
    withRetry(
      async () => {
        n++;
        throw new RegistryHttpError({ status: 429, method: 'GET', url: 'https://x/v2/', retryAfter: '3600' });
      },
      { baseDelayMs: 1, attempts: 2, maxRetryAfterMs: 10 },
    ),
    { message: /429/ },
  );
  t.equal(n, 2, 'bounded: an hour asked is cut to the bound, and attempts stay bounded');
});
