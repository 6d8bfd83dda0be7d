// Users, the htpasswd file, Basic parsing, the policy and the access controller, on real files;
// and Debian's docker-registry (CNCF distribution) reading our htpasswd.
import t from 'tap';
import { readFile, stat, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { formatHtpasswd, hashPassword, parseHtpasswd, verifyHash, isBcryptHash } from '../tools/src/auth/htpasswd.js';
import { generatePassword, checkPassword, readPasswordFrom } from '../tools/src/auth/passwords.js';
import { parseAuthorization, basicChallenge } from '../tools/src/auth/basic.js';
import { decide, globToRegExp, parseAccessConfig, type AccessPolicy } from '../tools/src/auth/policy.js';
import { FailureLimiter } from '../tools/src/auth/limiter.js';
import { HtpasswdAccessController } from '../tools/src/auth/controller.js';
import { ensureDefaultUser, readUsers, setUserPassword, removeUser, readDefaultPassword } from '../tools/src/auth/users.js';
import { resolveSecureMode } from '../tools/src/daemon/secure-mode.js';
import { ALLOW_ALL } from '../tools/src/registry/access.js';
import { Readable } from 'node:stream';
import { runCli } from './helpers/registry.js';
import { startDistribution } from './helpers/distribution.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const mode = async (p: string) => (await stat(p)).mode & 0o777;

t.test('htpasswd: $2y$ bcrypt, cost 10, parse and format', async (t) => {
  const hash = await hashPassword('correct horse');
  t.match(hash, /^\$2y\$10\$[./A-Za-z0-9]{53}$/);
  t.ok(isBcryptHash(hash));
  t.ok(await verifyHash('correct horse', hash));
  t.notOk(await verifyHash('correct horsE', hash));
  t.notOk(await verifyHash('x', undefined), 'unknown user: false (after a dummy comparison)');
  t.notOk(await verifyHash('x', '{SHA}abc'), 'non-bcrypt hashes are never accepted');
  const text = formatHtpasswd([
    { user: 'a', hash },
    { user: 'b', hash },
  ]);
  t.same(
    parseHtpasswd(`# comment\n\n${text}a:${hash}\r\n`).map((e) => e.user),
    ['a', 'b'],
  );
});

t.test('passwords: generated, checked, read from stdin', async (t) => {
  const p = generatePassword();
  t.ok(p.length >= 20);
  t.match(p, /^[A-Za-z0-9]+$/);
  t.not(generatePassword(), p);
  t.throws(() => checkPassword('', 'stdin'), { code: 'password' });
  t.throws(() => checkPassword('x'.repeat(73), 'stdin'), { code: 'password' });
  const long = (() => {
    try {
      checkPassword('s3cret'.repeat(20), 'stdin');
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  })();
  t.notMatch(long, 's3cret', 'errors never hold the password');
  t.equal(await readPasswordFrom(Readable.from(['pass word\n', 'ignored'])), 'pass word');
});

t.test('Basic parsing', async (t) => {
  t.same(parseAuthorization(undefined), { kind: 'none' });
  t.same(parseAuthorization('Basic Og=='), { kind: 'none' }, 'empty user and password is anonymous');
  t.same(parseAuthorization(basic('u', 'p:w')), { kind: 'basic', user: 'u', password: 'p:w' });
  t.same(parseAuthorization(`basic ${Buffer.from('u:p').toString('base64')}`), { kind: 'basic', user: 'u', password: 'p' });
  t.same(parseAuthorization('Bearer abc'), { kind: 'invalid' });
  t.same(parseAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`), { kind: 'invalid' });
  t.equal(basicChallenge('a"b'), 'Basic realm="ab", charset="UTF-8"');
});

t.test('policy: modes, narrowing per repository, globs', async (t) => {
  t.ok(globToRegExp('yocto/*').test('yocto/app'));
  t.notOk(globToRegExp('yocto/*').test('yocto/a/b'));
  t.ok(globToRegExp('yocto/**').test('yocto/a/b'));
  t.notOk(globToRegExp('a.b').test('axb'), 'dots are literal');
  // A `**` segment also matches no segment at all (gitignore, minimatch): `private/**` covers `private`.
  t.ok(globToRegExp('private/**').test('private'), 'private/** covers the repository private itself');
  t.notOk(globToRegExp('private/**').test('privateer'), 'but not a longer name');
  t.ok(globToRegExp('a/**/b').test('a/b'), 'a middle ** may match nothing');
  t.ok(globToRegExp('a/**/b').test('a/x/y/b'));
  t.ok(globToRegExp('**/sig').test('sig') && globToRegExp('**/sig').test('x/y/sig'), 'a leading ** may match nothing');
  t.notOk(globToRegExp('**/sig').test('xsig'));
  const p = parseAccessConfig(
    'pull = "anonymous"\npush = "authenticated"\n[[repository]]\nmatch = "private/**"\npull = ["alice"]\npush = ["alice"]\n[[repository]]\nmatch = "ci/*"\npush = ["ci", "alice"]\n',
    'access.toml',
    { pull: 'authenticated', push: 'authenticated' },
  );
  const anon = { kind: 'anonymous' } as const;
  const alice = { kind: 'user', name: 'alice' } as const;
  const bob = { kind: 'user', name: 'bob' } as const;
  const table: Array<[Parameters<typeof decide>[1], string | undefined, typeof anon | typeof alice | typeof bob, string]> = [
    ['pull', 'pub/app', anon, 'allow'],
    ['push', 'pub/app', anon, 'login'],
    ['push', 'pub/app', bob, 'allow'],
    ['delete', 'pub/app', anon, 'login'],
    ['pull', 'private/x/y', anon, 'login'],
    ['pull', 'private/x/y', bob, 'forbidden'],
    ['pull', 'private/x/y', alice, 'allow'],
    ['pull', 'private', bob, 'forbidden'],
    ['push', 'private', alice, 'allow'],
    ['push', 'ci/app', bob, 'forbidden'],
    ['push', 'ci/app', alice, 'allow'],
    ['pull', 'ci/app', anon, 'allow'],
    ['ping', undefined, anon, 'login'],
    ['ping', undefined, bob, 'allow'],
    ['catalog', undefined, anon, 'allow'],
  ];
  for (const [action, repo, who, want] of table)
    t.equal(decide(p, action, repo, who), want, `${action} ${repo} by ${who.kind === 'user' ? who.name : 'anonymous'}`);
  const open: AccessPolicy = { pull: 'anonymous', push: 'disabled', rules: [] };
  t.equal(decide(open, 'ping', undefined, anon), 'allow', 'no login anywhere: ping is open');
  t.equal(decide(open, 'push', 'a', alice), 'disabled');
  t.throws(() => parseAccessConfig('pul = "anonymous"', 'f', open), { code: 'access-config' });
  t.throws(() => parseAccessConfig('pull = "everyone"', 'f', open), { code: 'usage' });
  t.throws(() => parseAccessConfig('[[repository]]\nmatch = "a"\npull = "alice"', 'f', open), { code: 'access-config' });
  t.throws(() => parseAccessConfig('pull = ', 'f', open), { code: 'access-config' });
});

t.test('limiter: per address and user, per user, per address; attempts being checked count', async (t) => {
  let now = 0;
  const l = new FailureLimiter({ now: () => now });
  const attempt = (address: string, user: string) => {
    const a = l.begin(address, user);
    if (!a.admitted) throw new Error(`${address} ${user}: refused for ${a.retryAfter} s`);
    return a.attempt;
  };
  for (let i = 0; i < 4; i++) attempt('a', 'alice').failed();
  t.equal(l.retryAfter('a', 'alice'), 0);
  attempt('a', 'alice').failed();
  t.equal(l.retryAfter('a', 'alice'), 1, 'the fifth failure of a against alice: wait 1 s');
  t.equal(l.retryAfter('b', 'alice'), 0, 'another address may still try alice');
  t.equal(l.retryAfter('a', 'bob'), 0, 'a may still try another user');
  now += 1000;
  const probe = attempt('a', 'alice');
  t.match(l.begin('a', 'alice'), { admitted: false, retryAfter: 1 }, 'past the wait, one attempt at a time');
  probe.failed();
  t.equal(l.retryAfter('a', 'alice'), 2, 'and the wait doubles');

  t.test('attempts being checked count against the budget', async (t) => {
    const l = new FailureLimiter({ now: () => now });
    const all = Array.from({ length: 8 }, () => l.begin('c', 'alice'));
    t.equal(all.filter((a) => a.admitted).length, 5, '8 at once: 5 admitted');
    t.match(all[7], { admitted: false, retryAfter: 1 });
    for (const a of all) if (a.admitted) a.attempt.abandoned();
    t.equal(l.retryAfter('c', 'alice'), 0, 'unchecked attempts are given back');
  });

  t.test('a success forgets the failures of that address against that user, and nothing else', async (t) => {
    const l = new FailureLimiter({ now: () => now });
    const go = (address: string, user: string) => {
      const a = l.begin(address, user);
      if (!a.admitted) throw new Error('refused');
      return a.attempt;
    };
    for (let i = 0; i < 5; i++) go('d', 'alice').failed();
    for (let i = 0; i < 4; i++) go('d', 'mallory').failed();
    go('d', 'mallory').succeeded();
    t.equal(l.retryAfter('d', 'alice'), 1, "logging in to one's own account does not clear the failures against another");
    for (let i = 0; i < 4; i++) go('d', 'mallory').failed();
    t.equal(l.retryAfter('d', 'mallory'), 0, 'its own typos are forgotten');
    go('d', 'mallory').failed();
    t.ok(l.retryAfter('d', 'zoe') > 0, 'ten failures of one address over several users: spraying slows down');
  });

  t.test('per user across addresses', async (t) => {
    const l = new FailureLimiter({ now: () => now });
    for (let i = 0; i < 10; i++) {
      const a = l.begin(`10.0.0.${i}`, 'alice');
      if (a.admitted) a.attempt.failed();
    }
    t.equal(l.retryAfter('10.0.1.1', 'alice'), 1, 'ten failures from ten addresses: alice waits everywhere');
    t.equal(l.retryAfter('10.0.1.1', 'bob'), 0);
  });
});

t.test('users: add, change, remove; files 0600; the default user and auth/password', async (t) => {
  const dir = await tempDir(t);
  await setUserPassword(dir, 'alice', 'alice-pass', { mode: 'add' });
  await t.rejects(setUserPassword(dir, 'alice', 'x', { mode: 'add' }), { code: 'user-exists' });
  await t.rejects(setUserPassword(dir, 'bob', 'x', { mode: 'change' }), { code: 'user-unknown' });
  await t.rejects(setUserPassword(dir, 'bad:name', 'x', { mode: 'add' }), { code: 'usage' });
  t.equal(await mode(join(dir, 'auth', 'htpasswd')), 0o600);
  t.equal(await mode(join(dir, 'auth')), 0o700);
  t.equal(await readDefaultPassword(dir), undefined, 'alice is not the default user');

  const env = { CONTAINER_REGISTRY_USERNAME: 'yocto' };
  const created = await ensureDefaultUser(dir, env);
  t.same([created.action, created.passwordSource], ['created', 'generated']);
  const generated = (await readDefaultPassword(dir))!;
  t.ok(generated.length >= 20);
  t.equal(await mode(join(dir, 'auth', 'password')), 0o600);
  t.same(
    (await readUsers(dir)).map((u) => u.user),
    ['alice', 'yocto'],
  );
  t.equal((await ensureDefaultUser(dir, env)).action, 'kept');

  // A password set in local.conf (CONTAINER_REGISTRY_PASSWORD) reaches the registry.
  const updated = await ensureDefaultUser(dir, { ...env, CONTAINER_REGISTRY_PASSWORD: 'from-local-conf' });
  t.same([updated.action, updated.passwordSource], ['updated', 'CONTAINER_REGISTRY_PASSWORD']);
  t.equal(await readDefaultPassword(dir), 'from-local-conf');
  const hash = (await readUsers(dir)).find((u) => u.user === 'yocto')!.hash;
  t.ok(await verifyHash('from-local-conf', hash));
  t.equal((await ensureDefaultUser(dir, { ...env, CONTAINER_REGISTRY_PASSWORD: 'from-local-conf' })).action, 'kept');
  // A new password from local.conf needs 8 characters too; the one in use stays.
  await t.rejects(ensureDefaultUser(dir, { ...env, CONTAINER_REGISTRY_PASSWORD: 'short' }), { code: 'password', message: /has 5 characters; at least 8/ });
  t.equal(await readDefaultPassword(dir), 'from-local-conf', 'a refused password changes nothing');

  await removeUser(dir, 'yocto');
  t.equal(await readDefaultPassword(dir), undefined, 'auth/password goes with the default user');
  await t.rejects(removeUser(dir, 'yocto'), { code: 'user-unknown' });
});

t.test('CLI: auth add/list/passwd/remove; passwords from stdin are never echoed', async (t) => {
  const dir = await tempDir(t);
  const none = await runCli(['auth', 'list', '--storage', dir]);
  t.equal(none.code, 0, none.stderr);
  t.equal(none.stdout, '', 'no users: nothing on stdout');
  t.match(none.stderr, /^no users in .*auth\/htpasswd/, 'and a line on stderr saying so');
  t.same(JSON.parse((await runCli(['auth', 'list', '--json', '--storage', dir])).stdout), { users: [] });
  const add = await runCli(['auth', 'add', 'alice', '--password-stdin', '--storage', dir], { input: 'stdin-secret-1\n' });
  t.equal(add.code, 0, add.stderr);
  t.notMatch(add.stdout + add.stderr, 'stdin-secret-1');
  const gen = await runCli(['auth', 'add', 'bob', '--storage', dir]);
  t.equal(gen.code, 0, gen.stderr);
  const bobPass = gen.stdout.trim();
  t.match(bobPass, /^[A-Za-z0-9]{24}$/, 'a generated password is printed once, on stdout alone');
  t.notMatch(gen.stderr, bobPass);
  const list = await runCli(['auth', 'list', '--storage', dir]);
  t.equal(list.stdout, 'alice\nbob\n');
  t.same(JSON.parse((await runCli(['auth', 'list', '--json', '--storage', dir])).stdout), { users: ['alice', 'bob'] });
  // A password of a few characters is guessed at the login limiter's pace: 8 at least.
  const short = await runCli(['auth', 'add', 'carol', '--password-stdin', '--storage', dir], { input: 'abc\n' });
  t.equal(short.code, 1);
  t.match(short.stderr, /^container-registry: error \[password\]: the password from stdin has 3 characters; at least 8/);
  const shortEnv = await runCli(['auth', 'add', 'yocto', '--storage', dir], { env: { CONTAINER_REGISTRY_PASSWORD: 'seven77' } });
  t.equal(shortEnv.code, 1);
  t.match(shortEnv.stderr, /\[password\]: the password from CONTAINER_REGISTRY_PASSWORD has 7 characters; at least 8/);
  t.notMatch(short.stderr + shortEnv.stderr, /abc|seven77/, 'the refused passwords are not echoed');
  const dup = await runCli(['auth', 'add', 'alice', '--password-stdin', '--storage', dir], { input: 'other-secret\n' });
  t.equal(dup.code, 1);
  t.match(dup.stderr, /^container-registry: error \[user-exists\]: user alice exists/);
  t.notMatch(dup.stderr, 'other-secret');
  const passwd = await runCli(['auth', 'passwd', 'alice', '--password-stdin', '--storage', dir], { input: 'stdin-secret-2' });
  t.equal(passwd.code, 0, passwd.stderr);
  const hash = parseHtpasswd(await readFile(join(dir, 'auth', 'htpasswd'), 'utf8')).find((e) => e.user === 'alice')!.hash;
  t.ok(bcrypt.compareSync('stdin-secret-2', hash));
  const empty = await runCli(['auth', 'passwd', 'alice', '--password-stdin', '--storage', dir], { input: '\n' });
  t.equal(empty.code, 1);
  t.match(empty.stderr, 'is empty');
  const yocto = await runCli(['auth', 'add', 'yocto', '--storage', dir], { env: { CONTAINER_REGISTRY_PASSWORD: 'env-secret-3' } });
  t.equal(yocto.code, 0, yocto.stderr);
  t.notMatch(yocto.stdout + yocto.stderr, 'env-secret-3');
  t.equal(await readFile(join(dir, 'auth', 'password'), 'utf8'), 'env-secret-3\n');
  const rm = await runCli(['auth', 'remove', 'bob', '--storage', dir]);
  t.equal(rm.code, 0, rm.stderr);
  t.equal((await runCli(['auth', 'list', '--storage', dir])).stdout, 'alice\nyocto\n');
});

t.test('controller: 401 with a challenge, 403 for a user without the right, edits picked up, 429 after failures', async (t) => {
  const dir = await tempDir(t);
  await setUserPassword(dir, 'alice', 'alice-pass', { mode: 'add' });
  const warnings: string[] = [];
  const c = new HtpasswdAccessController({
    storageDir: dir,
    defaults: { pull: 'anonymous', push: 'authenticated' },
    verifyCredentials: true,
    warn: (l) => warnings.push(l),
  });
  await c.load();
  const req = (action: 'pull' | 'push' | 'ping', authorization?: string, remoteAddress = '127.0.0.1') =>
    c.check({ action, repository: 'yocto/app', authorization, remoteAddress });

  t.same(await req('pull'), { allowed: true, user: undefined }, 'anonymous pull');
  const anonPush = await req('push');
  t.match(anonPush, { allowed: false, status: 401, challenge: 'Basic realm="container-registry", charset="UTF-8"' });
  t.same(await req('push', basic('alice', 'alice-pass')), { allowed: true, user: 'alice' });
  t.same(await req('push', basic('alice', 'alice-pass')), { allowed: true, user: 'alice' }, 'second time from the cache');
  t.match(await req('push', basic('alice', 'wrong')), { allowed: false, status: 401 }, 'a cached success does not admit a wrong password');
  t.match(await req('ping'), { allowed: false, status: 401 }, '/v2/ asks anonymous clients to log in when pushing needs it');
  t.match(await req('pull', 'Bearer xyz'), { allowed: false, status: 401 });

  // A user added by another process is known at once; so is a changed password.
  await setUserPassword(dir, 'bob', 'bob-pass', { mode: 'add' });
  t.same(await req('push', basic('bob', 'bob-pass')), { allowed: true, user: 'bob' });
  await setUserPassword(dir, 'alice', 'new-pass', { mode: 'change' });
  t.match(await req('push', basic('alice', 'alice-pass')), { status: 401 }, 'the old password stops working without a restart');
  t.same(await req('push', basic('alice', 'new-pass')), { allowed: true, user: 'alice' });

  // access.toml narrows; an edit that does not parse keeps the last good policy.
  await writeFile(join(dir, 'auth', 'access.toml'), '[[repository]]\nmatch = "yocto/*"\npush = ["alice"]\n');
  t.match(await req('push', basic('bob', 'bob-pass')), { allowed: false, status: 403, user: 'bob', message: 'user bob may not push yocto/app' });
  t.same(await req('push', basic('alice', 'new-pass')), { allowed: true, user: 'alice' });
  await writeFile(join(dir, 'auth', 'access.toml.tmp'), 'push = "nobody"\n');
  await rename(join(dir, 'auth', 'access.toml.tmp'), join(dir, 'auth', 'access.toml'));
  t.match(await req('push', basic('bob', 'bob-pass')), { status: 403 }, 'kept the previous policy');
  t.match(warnings.join('\n'), /access\.toml: keeping the previous settings/);
  await writeFile(join(dir, 'auth', 'access.toml'), 'push = "disabled"\n');
  t.match(await req('push', basic('alice', 'new-pass')), { allowed: false, status: 403, message: 'pushing is disabled on this registry' });

  // Five failures from one address against alice, then 429 with Retry-After, even for the right
  // password (not verified yet: it just changed); a credential verified lately still passes.
  await setUserPassword(dir, 'alice', 'third-pass', { mode: 'change' });
  for (let i = 0; i < 5; i++) t.match(await req('pull', basic('alice', `guess-${i}`), '10.9.9.9'), { status: 401 });
  const slowed = await req('pull', basic('alice', 'third-pass'), '10.9.9.9');
  t.match(slowed, { allowed: false, status: 429 });
  t.ok((slowed as { retryAfter: number }).retryAfter >= 1);
  t.match(await req('pull', basic('alice', 'guess-0'), '10.9.9.9'), { status: 401 }, 'a known-wrong password is refused as such, uncounted');
  t.same(await req('pull', basic('alice', 'third-pass'), '10.9.9.8'), { allowed: true, user: 'alice' }, 'other addresses are not slowed');
  t.same(await req('pull', basic('alice', 'third-pass'), '10.9.9.9'), { allowed: true, user: 'alice' }, 'once verified, the credential skips the limiter');
  t.same(await req('pull', undefined, '10.9.9.9'), { allowed: true, user: undefined }, 'anonymous pull still works from there');
  const messages = JSON.stringify([slowed, await req('push', basic('alice', 'zz-secret'))]);
  t.notMatch(messages, 'zz-secret', 'decisions never carry the password');
});

t.test('resolveSecureMode: conflicts, defaults, first secure start creates the PKI and the default user', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(resolveSecureMode({ CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_INSECURE: '1' }, {}, dir), { code: 'config-conflict' });
  await t.rejects(resolveSecureMode({ CONTAINER_REGISTRY_INSECURE: '1' }, { tls: true }, dir), { code: 'config-conflict' });
  await t.rejects(resolveSecureMode({ CONTAINER_REGISTRY_AUTH: '1' }, {}, dir), { code: 'auth-needs-tls' });
  await t.rejects(resolveSecureMode({}, { push: 'authenticated' }, dir), { code: 'auth-needs-tls' });
  const insecure = await resolveSecureMode({}, {}, dir);
  t.equal(insecure.secure, false);
  t.equal(insecure.tls, undefined);
  t.equal(insecure.access, ALLOW_ALL, 'insecure mode: everyone anonymous and allowed');
  const readOnly = await resolveSecureMode({}, { push: 'disabled' }, dir);
  t.match(await readOnly.access.check({ action: 'push', repository: 'a', authorization: undefined, remoteAddress: 'x' }), { allowed: false, status: 403 });

  const secure = await resolveSecureMode(
    { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '1', CONTAINER_REGISTRY_PASSWORD: 'pw-from-env' },
    {},
    dir,
    { hostname: 'h' },
  );
  t.equal(secure.secure, true);
  t.same(secure.tls, { certFile: join(dir, 'pki', 'server.crt'), keyFile: join(dir, 'pki', 'server.key') });
  t.match(secure.notes.join('\n'), /created a CA[\s\S]*created user yocto[\s\S]*access: pull authenticated, push authenticated/);
  t.notMatch(secure.notes.join('\n'), 'pw-from-env');
  t.match(await secure.access.check({ action: 'pull', repository: 'a', authorization: undefined, remoteAddress: 'x' }), { status: 401 });
  t.same(await secure.access.check({ action: 'pull', repository: 'a', authorization: basic('yocto', 'pw-from-env'), remoteAddress: 'x' }), {
    allowed: true,
    user: 'yocto',
  });

  // Secure mode alone (the CLI's --tls) asks for logins too: HTTPS never lets anonymous pushes in.
  const tlsOnly = await resolveSecureMode({}, { tls: true }, dir, { hostname: 'h' });
  t.match(tlsOnly.notes.join('\n'), 'access: pull authenticated, push authenticated');
  for (const action of ['push', 'pull'] as const) {
    t.match(
      await tlsOnly.access.check({ action, repository: 'a', authorization: undefined, remoteAddress: 'x' }),
      { allowed: false, status: 401 },
      `secure without auth: anonymous ${action} asks for a login`,
    );
  }
  t.notMatch(tlsOnly.notes.join('\n'), /created/, 'second start creates nothing');
  const openPulls = await resolveSecureMode({ CONTAINER_REGISTRY_SECURE: '1' }, { pull: 'anonymous' }, dir, { hostname: 'h' });
  t.match(openPulls.notes.join('\n'), 'access: pull anonymous, push authenticated', '--pull anonymous opens pulls only');
  // Precedence: --auth's defaults, then access.toml, then --pull/--push.
  await writeFile(join(dir, 'auth', 'access.toml'), 'pull = "anonymous"\n');
  const layered = await resolveSecureMode({}, { tls: true, auth: true, push: 'disabled' }, dir, { hostname: 'h' });
  t.match(layered.notes.join('\n'), 'access: pull anonymous, push disabled');
  t.same(await layered.access.check({ action: 'pull', repository: 'a', authorization: undefined, remoteAddress: 'x' }), { allowed: true, user: undefined });
  t.match(await layered.access.check({ action: 'push', repository: 'a', authorization: basic('yocto', 'pw-from-env'), remoteAddress: 'x' }), {
    allowed: false,
    status: 403,
  });
  await writeFile(join(dir, 'auth', 'access.toml'), 'pull = [');
  await t.rejects(resolveSecureMode({}, { tls: true }, dir, { hostname: 'h' }), { code: 'access-config' }, 'a broken access.toml stops the start');
});

t.test("Debian's docker-registry (distribution 2.8) accepts our htpasswd", { skip: missingPeer('docker-registry') }, async (t) => {
  const dir = await tempDir(t);
  await setUserPassword(dir, 'alice', 'alice-pass', { mode: 'add' });
  await setUserPassword(dir, 'yocto', 'yocto-pass', { mode: 'add' });
  const reg = await startDistribution(t, {
    extraConfig: ['auth:', '  htpasswd:', '    realm: test-realm', `    path: ${join(dir, 'auth', 'htpasswd')}`].join('\n'),
  });
  const anon = await fetch(`${reg.url}/v2/`);
  t.equal(anon.status, 401, 'no credentials: 401');
  t.match(anon.headers.get('www-authenticate') ?? '', 'Basic realm="test-realm"');
  for (const [user, pass] of [
    ['alice', 'alice-pass'],
    ['yocto', 'yocto-pass'],
  ]) {
    const ok = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic(user!, pass!) } });
    t.equal(ok.status, 200, `${user} with the right password: 200`);
  }
  const bad = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic('alice', 'wrong') } });
  t.equal(bad.status, 401, 'wrong password: 401');
});

t.test('concurrent user additions lose nobody', async (t) => {
  const dir = await tempDir(t);
  await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => setUserPassword(dir, u, `${u}-pass`, { mode: 'add' })));
  t.same((await readUsers(dir)).map((u) => u.user).sort(), ['u1', 'u2', 'u3', 'u4']);
});
