// Secure mode end to end, through the built CLI: HTTPS with our CA, Basic logins, pull/push
// policy, renewal and user edits without a restart, and no password in any process's argv.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { BUNDLE, runCli, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { makeImage, writeLayout } from './helpers/images.js';
import { missingPeer } from './helpers/peers.js';
import { freePort, waitFor } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { startDistribution } from './helpers/distribution.js';
import { writeBuild } from './helpers/deploy.js';

const noPeers = missingPeer('skopeo', 'curl');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** every process seen in the run's process tree, with its argv */
  seen: Map<number, string>;
}

function children(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone
    }
  }
  return parents;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** descendants lists the processes below `root` now. */
function descendants(root: number): number[] {
  const parents = children();
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop()!;
    for (const [pid, ppid] of parents)
      if (ppid === p) {
        out.push(pid);
        frontier.push(pid);
      }
  }
  return out;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** run starts a program and, while it runs, records the argv of it and every process below it. */
function run(bin: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    const seen = new Map<number, string>();
    let stdout = '';
    let stderr = '';
    const scan = () => {
      for (const pid of [child.pid!, ...descendants(child.pid!)]) {
        const c = cmdline(pid);
        if (c) seen.set(pid, c);
      }
    };
    const timer = setInterval(scan, 10);
    scan();
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, seen });
    });
    // A child that exits without reading its input (curl, at once) makes that write EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Setup is one registry in secure mode and the client files a user would write. */
interface Setup {
  reg: TestRegistry;
  dir: string;
  host: string;
  password: string;
  certDir: string;
  authfile: string;
  curlrc: string;
  policy: string;
  layout: string;
}

async function setup(t: Test, args: string[], env: Record<string, string> = {}): Promise<Setup> {
  const dir = await tempDir(t);
  const storage = join(dir, 'storage');
  const reg = await startTestRegistry(t, { storage, args: ['--tls', ...args], env });
  const host = `localhost:${reg.port}`;
  const password = (await readFile(join(storage, 'auth', 'password'), 'utf8')).trim();
  // Credentials go in files: a docker config.json for skopeo, a curl config for curl. Never argv.
  const authfile = join(dir, 'auth.json');
  await writeFile(authfile, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`yocto:${password}`).toString('base64') } } }), { mode: 0o600 });
  const curlrc = join(dir, 'curlrc');
  await writeFile(curlrc, `user = "yocto:${password}"\n`, { mode: 0o600 });
  const policy = join(dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const layout = join(dir, 'layout');
  await writeLayout(layout, [{ ref: 'v1', image: makeImage() }]);
  return { reg, dir, host, password, certDir: join(storage, 'certs'), authfile, curlrc, policy, layout };
}

function curl(s: Setup, path: string, extra: string[]): Promise<Run> {
  return run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...extra, `https://${s.host}${path}`]);
}

t.test('secure mode with auth: HTTPS, logins, skopeo push and pull, no password in argv', { skip: noPeers }, async (t) => {
  const s = await setup(t, ['--auth']);
  t.match(s.reg.output(), /created a CA[\s\S]*created user yocto[\s\S]*serving https:\/\/127\.0\.0\.1:\d+/);
  t.notMatch(s.reg.output(), s.password, 'the password is not in the server log');

  t.test('curl: trusted with --cacert, refused without; 401 without or with wrong credentials', async (t) => {
    const ok = await curl(s, '/v2/', ['--cacert', join(s.certDir, 'ca.crt'), '-K', s.curlrc]);
    t.equal(ok.stdout, '200');
    const untrusted = await curl(s, '/v2/', ['-K', s.curlrc]);
    t.equal(untrusted.code, 60, 'curl without --cacert: certificate problem (exit 60)');
    const anon = await run('curl', ['-s', '-i', '--cacert', join(s.certDir, 'ca.crt'), `https://${s.host}/v2/`]);
    t.match(anon.stdout, /^HTTP\/1\.1 401/);
    t.match(anon.stdout, /www-authenticate: Basic realm="container-registry"/i);
    t.match(anon.stdout, /"code":"UNAUTHORIZED"/);
    t.match(anon.stdout, /strict-transport-security: max-age=\d+/i, 'HSTS on HTTPS answers, 401s included');
    t.match(anon.stdout, /x-content-type-options: nosniff/i);
    const wrongrc = join(s.dir, 'wrongrc');
    await writeFile(wrongrc, 'user = "yocto:not-the-password"\n');
    const wrong = await curl(s, '/v2/', ['--cacert', join(s.certDir, 'ca.crt'), '-K', wrongrc]);
    t.equal(wrong.stdout, '401');
    // The same CA works for every name in the certificate.
    const byIp = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      join(s.certDir, 'ca.crt'),
      '-K',
      s.curlrc,
      `https://127.0.0.1:${s.reg.port}/v2/`,
    ]);
    t.equal(byIp.stdout, '200', 'IP SAN 127.0.0.1');
    const tls11 = await run('curl', ['-s', '-o', '/dev/null', '--tlsv1.1', '--tls-max', '1.1', '--cacert', join(s.certDir, 'ca.crt'), `https://${s.host}/v2/`]);
    t.not(tls11.code, 0, 'TLS 1.1 is refused');
  });

  t.test('skopeo pushes and pulls with --cert-dir and an authfile; no process shows the password', async (t) => {
    const push = await run('skopeo', [
      '--policy',
      s.policy,
      'copy',
      '--dest-cert-dir',
      s.certDir,
      '--dest-authfile',
      s.authfile,
      `oci:${s.layout}:v1`,
      `docker://${s.host}/yocto/app:1`,
    ]);
    t.equal(push.code, 0, push.stderr);
    t.ok(push.seen.size >= 1, `scanned ${push.seen.size} process(es)`);
    for (const [pid, argv] of push.seen) t.notMatch(argv, s.password, `pid ${pid} argv holds no password`);
    const serverArgv = cmdline(s.reg.process.pid!)!;
    t.notMatch(serverArgv, s.password, 'nor does the server process');

    const inspect = await run('skopeo', ['inspect', '--cert-dir', s.certDir, '--authfile', s.authfile, `docker://${s.host}/yocto/app:1`]);
    t.equal(inspect.code, 0, inspect.stderr);
    t.match(JSON.parse(inspect.stdout), { Name: `${s.host}/yocto/app`, Architecture: 'amd64' });
    const out = join(s.dir, 'pulled');
    const pull = await run('skopeo', [
      '--policy',
      s.policy,
      'copy',
      '--src-cert-dir',
      s.certDir,
      '--src-authfile',
      s.authfile,
      `docker://${s.host}/yocto/app:1`,
      `oci:${out}:1`,
    ]);
    t.equal(pull.code, 0, pull.stderr);
    t.ok((await readdir(join(out, 'blobs', 'sha256'))).length >= 3, 'manifest, config and layer pulled');

    const anonPull = await run('skopeo', ['inspect', '--cert-dir', s.certDir, '--no-creds', `docker://${s.host}/yocto/app:1`]);
    t.not(anonPull.code, 0, 'anonymous pull refused where pull is authenticated');
    t.match(anonPull.stderr, /unauthorized|authentication required/i);

    // The access log names the user, never the credentials.
    await waitFor(async () => s.reg.output().includes('"user":"yocto"'), 5000, 'an access log line');
    t.notMatch(s.reg.output(), s.password);
    t.notMatch(s.reg.output(), /Basic [A-Za-z0-9+/=]{8,}/);
  });

  t.test('an edited htpasswd and a renewed certificate are picked up without a restart', async (t) => {
    const add = await runCli(['auth', 'add', 'ci', '--password-stdin', '--storage', s.reg.storage], { input: 'ci-password-1\n' });
    t.equal(add.code, 0, add.stderr);
    const circ = join(s.dir, 'circ');
    await writeFile(circ, 'user = "ci:ci-password-1"\n');
    t.equal((await curl(s, '/v2/', ['--cacert', join(s.certDir, 'ca.crt'), '-K', circ])).stdout, '200', 'new user logs in');

    const fingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: s.reg.port, servername: 'localhost', ca: readFileSync(join(s.certDir, 'ca.crt')) }, () => {
          resolve(sock.getPeerX509Certificate()!.fingerprint256);
          sock.end();
        });
        sock.on('error', reject);
      });
    const before = await fingerprint();
    const renew = await runCli(['pki', 'renew', '--storage', s.reg.storage]);
    t.equal(renew.code, 0, renew.stderr);
    const wanted = new X509Certificate(await readFile(join(s.reg.storage, 'pki', 'server.crt'))).fingerprint256;
    t.not(wanted, before);
    await waitFor(async () => (await fingerprint()) === wanted, 10_000, 'the server to present the renewed certificate');
    t.pass('the server presents the renewed certificate, same CA, no restart');
  });
});

t.test('pull anonymous, push authenticated: anonymous pull allowed, anonymous push refused', { skip: noPeers }, async (t) => {
  const s = await setup(t, ['--pull', 'anonymous', '--push', 'authenticated']);
  const anonPush = await run('skopeo', [
    '--policy',
    s.policy,
    'copy',
    '--dest-cert-dir',
    s.certDir,
    '--dest-no-creds',
    `oci:${s.layout}:v1`,
    `docker://${s.host}/yocto/app:1`,
  ]);
  t.not(anonPush.code, 0, 'anonymous push refused');
  t.match(anonPush.stderr, /unauthorized|authentication required/i);
  const push = await run('skopeo', [
    '--policy',
    s.policy,
    'copy',
    '--dest-cert-dir',
    s.certDir,
    '--dest-authfile',
    s.authfile,
    `oci:${s.layout}:v1`,
    `docker://${s.host}/yocto/app:1`,
  ]);
  t.equal(push.code, 0, push.stderr);
  const anonPull = await run('skopeo', [
    '--policy',
    s.policy,
    'copy',
    '--src-cert-dir',
    s.certDir,
    '--src-no-creds',
    `docker://${s.host}/yocto/app:1`,
    `oci:${join(s.dir, 'out')}:1`,
  ]);
  t.equal(anonPull.code, 0, `anonymous skopeo pull: ${anonPull.stderr}`);
  const curlAnon = await curl(s, '/v2/yocto/app/manifests/1', [
    '--cacert',
    join(s.certDir, 'ca.crt'),
    '-H',
    'Accept: application/vnd.oci.image.manifest.v1+json',
  ]);
  t.equal(curlAnon.stdout, '200', 'anonymous curl GET of the manifest');
  const curlPush = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-X',
    'POST',
    '--cacert',
    join(s.certDir, 'ca.crt'),
    `https://${s.host}/v2/yocto/app/blobs/uploads/`,
  ]);
  t.equal(curlPush.stdout, '401', 'anonymous upload: 401');

  // Narrowing per repository (auth/access.toml, read without a restart): a private repository and
  // one only yocto may push to.
  await writeFile(
    join(s.reg.storage, 'auth', 'access.toml'),
    '[[repository]]\nmatch = "private/**"\npull = ["yocto"]\n\n[[repository]]\nmatch = "yocto/*"\npush = ["yocto"]\n',
  );
  const priv = await run('skopeo', [
    '--policy',
    s.policy,
    'copy',
    '--dest-cert-dir',
    s.certDir,
    '--dest-authfile',
    s.authfile,
    `oci:${s.layout}:v1`,
    `docker://${s.host}/private/app:1`,
  ]);
  t.equal(priv.code, 0, priv.stderr);
  const ca = ['--cacert', join(s.certDir, 'ca.crt')];
  const anonCatalog = await run('curl', ['-s', ...ca, `https://${s.host}/v2/_catalog`]);
  t.same(JSON.parse(anonCatalog.stdout), { repositories: ['yocto/app'] }, 'the anonymous catalog hides what they may not pull');
  const userCatalog = await run('curl', ['-s', ...ca, '-K', s.curlrc, `https://${s.host}/v2/_catalog`]);
  t.same(JSON.parse(userCatalog.stdout), { repositories: ['private/app', 'yocto/app'] });
  t.equal((await curl(s, '/v2/private/app/manifests/1', [...ca])).stdout, '401', 'anonymous pull of a private repository: 401');
  const add = await runCli(['auth', 'add', 'ci', '--password-stdin', '--storage', s.reg.storage], { input: 'ci-password-2\n' });
  t.equal(add.code, 0, add.stderr);
  const circ = join(s.dir, 'circ');
  await writeFile(circ, 'user = "ci:ci-password-2"\n');
  t.equal((await curl(s, '/v2/private/app/manifests/1', [...ca, '-K', circ])).stdout, '403', 'a known user without the right: 403');
  const ciPush = await run('curl', ['-s', '-X', 'POST', ...ca, '-K', circ, `https://${s.host}/v2/yocto/app/blobs/uploads/`]);
  t.match(ciPush.stdout, /"code":"DENIED"/, 'ci may not push to yocto/*');
  t.equal((await curl(s, '/v2/other/app/blobs/uploads/', ['-X', 'POST', ...ca, '-K', circ])).stdout, '202', 'but may push elsewhere');
});

t.test('start in secure mode: CONTAINER_REGISTRY_PASSWORD reaches the registry and no argv', { skip: missingPeer('curl') }, async (t) => {
  const dir = await tempDir(t);
  const storage = join(dir, 'storage');
  const port = await freePort();
  const password = `pw-${Date.now()}-secret`;
  const env = { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '1', CONTAINER_REGISTRY_PASSWORD: password };
  const start = await run(process.execPath, [BUNDLE, 'start', '--storage', storage, '--listen', `127.0.0.1:${port}`], { env });
  t.teardown(() => runCli(['stop', '--storage', storage, '--timeout', '3']));
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, `Registry started: https://127.0.0.1:${port}`);
  const pid = JSON.parse(await readFile(join(storage, 'container-registry.pid'), 'utf8')).pid as number;
  for (const [p, argv] of [...start.seen, [pid, cmdline(pid) ?? '']] as Array<[number, string]>) t.notMatch(argv, password, `pid ${p} argv holds no password`);
  t.equal((await readFile(join(storage, 'auth', 'password'), 'utf8')).trim(), password);
  const rc = join(dir, 'rc');
  await writeFile(rc, `user = "yocto:${password}"\n`);
  const ok = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--cacert',
    join(storage, 'certs', 'ca.crt'),
    '-K',
    rc,
    `https://localhost:${port}/v2/`,
  ]);
  t.equal(ok.stdout, '200');
  const log = await readFile(join(storage, 'container-registry.log'), 'utf8');
  t.notMatch(log, password, 'not in the log either');
  const status = await runCli(['status', '--storage', storage]);
  t.equal(status.code, 0, status.stdout);
});

t.test(
  'CONTAINER_REGISTRY_SECURE=1 alone: a login for push and pull, auth/password 0600, --pull anonymous opens pulls',
  { skip: missingPeer('curl') },
  async (t) => {
    const dir = await tempDir(t);
    const storage = join(dir, 'storage');
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    // Secure mode alone, as the reference tool knows it: no CONTAINER_REGISTRY_AUTH.
    const env = { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_AUTH: '', CONTAINER_REGISTRY_INSECURE: '', CONTAINER_REGISTRY_PASSWORD: '' };
    const start = async (...args: string[]) => {
      const r = await runCli(['start', '--storage', storage, '--listen', host, ...args], { env });
      t.equal(r.code, 0, r.stderr);
      return r;
    };
    const stop = () => runCli(['stop', '--storage', storage, '--timeout', '3']);
    t.teardown(stop);
    const started = await start();
    t.match(started.stderr, 'container-registry: access: pull authenticated, push authenticated', 'the startup notes say so');
    t.match(started.stderr, /created user yocto; its password is in .*auth\/password/);
    const passwordFile = join(storage, 'auth', 'password');
    t.equal(statSync(passwordFile).mode & 0o777, 0o600, 'auth/password is 0600');
    const password = (await readFile(passwordFile, 'utf8')).trim();
    t.ok(password.length >= 24, 'a generated password');

    const ca = ['--cacert', join(storage, 'certs', 'ca.crt')];
    const status = async (path: string, extra: string[] = []) =>
      (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...ca, ...extra, `https://${host}${path}`])).stdout;
    // The reference tool's documented check: curl -u yocto:$(cat STORAGE/auth/password) https://...
    // (the credentials go through a curl config file here, never argv).
    const rc = join(dir, 'rc');
    await writeFile(rc, `user = "yocto:${password}"\n`, { mode: 0o600 });
    t.equal(await status('/v2/', ['-K', rc]), '200', 'curl -u yocto:$(cat auth/password) gets in');
    t.equal(await status('/v2/yocto/app/blobs/uploads/', ['-X', 'POST']), '401', 'anonymous push (upload): 401');

    const root = await tempDir(t);
    await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
    const deploy = ['--deploy-dir', join(root, 'images', 'qemux86-64')];
    const anonPush = await runCli(['push', 'app', '-t', 'v1', '--registry', host, '--ca-cert', join(storage, 'certs', 'ca.crt'), ...deploy], {
      // A client that has no record of this registry (another user, another machine): no password file.
      env: {
        CONTAINER_REGISTRY_SECURE: '',
        CONTAINER_REGISTRY_STORAGE: '',
        CONTAINER_REGISTRY_AUTH_MODE: '',
        XDG_RUNTIME_DIR: await tempDir(t, 'cr-client-run-'),
      },
    });
    t.not(anonPush.code, 0, 'a push without credentials is refused');
    t.match(anonPush.stderr, /\[unauthorized\]/);
    // The CLI in secure mode takes the local registry's password from auth/password.
    const clientEnv = { ...env, CONTAINER_REGISTRY_URL: host, CONTAINER_REGISTRY_STORAGE: storage, CONTAINER_REGISTRY_AUTH_MODE: '' };
    const push = await runCli(['push', 'app', '-t', 'v1', ...deploy], { env: clientEnv });
    t.equal(push.code, 0, `push with the password file: ${push.stderr}`);
    const tags = await runCli(['tags', 'app'], { env: clientEnv });
    t.equal(tags.stdout.trim(), 'v1', tags.stderr);

    const accept = ['-H', 'Accept: application/vnd.oci.image.manifest.v1+json'];
    t.equal(await status('/v2/yocto/app/manifests/v1', accept), '401', 'anonymous pull refused by default');
    t.equal(await status('/v2/yocto/app/manifests/v1', [...accept, '-K', rc]), '200', 'the default user pulls');

    // --pull anonymous is the explicit way to open pulls; pushes still need the login.
    t.equal((await stop()).code, 0);
    const open = await start('--pull', 'anonymous');
    t.match(open.stderr, 'access: pull anonymous, push authenticated');
    t.equal(await status('/v2/yocto/app/manifests/v1', accept), '200', '--pull anonymous: anonymous pull allowed');
    t.equal(await status('/v2/yocto/app/blobs/uploads/', ['-X', 'POST']), '401', 'anonymous push still 401');
    t.equal((await readFile(passwordFile, 'utf8')).trim(), password, 'a later start keeps the password');
  },
);

t.test('SECURE with INSECURE is one clear error', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['serve', '--storage', dir, '--listen', '127.0.0.1:1'], { env: { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_INSECURE: '1' } });
  t.equal(r.code, 2);
  t.match(r.stderr, /^container-registry: error \[config-conflict\]: CONTAINER_REGISTRY_SECURE=1 and CONTAINER_REGISTRY_INSECURE=1 exclude each other/);
  const auth = await runCli(['serve', '--auth', '--storage', dir, '--listen', '127.0.0.1:1']);
  t.equal(auth.code, 2);
  t.match(auth.stderr, /\[auth-needs-tls\]/);
});

t.test(
  "Debian's docker-registry serves with our key, certificate and htpasswd; skopeo pushes to it",
  { skip: missingPeer('docker-registry', 'skopeo', 'curl') },
  async (t) => {
    const dir = await tempDir(t);
    const storage = join(dir, 'storage');
    const init = await runCli(['pki', 'init', '--storage', storage]);
    t.equal(init.code, 0, init.stderr);
    const add = await runCli(['auth', 'add', 'yocto', '--storage', storage], { env: { CONTAINER_REGISTRY_PASSWORD: 'dist-password-1' } });
    t.equal(add.code, 0, add.stderr);
    const dist = await startDistribution(t, {
      storage: join(dir, 'dist'),
      tls: true,
      extraConfig: [
        '  tls:',
        `    certificate: ${join(storage, 'pki', 'server.crt')}`,
        `    key: ${join(storage, 'pki', 'server.key')}`,
        'auth:',
        '  htpasswd:',
        '    realm: dist',
        `    path: ${join(storage, 'auth', 'htpasswd')}`,
      ].join('\n'),
    });
    const port = Number(dist.host.split(':')[1]);
    const ca = ['--cacert', join(storage, 'certs', 'ca.crt')];
    const anon = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...ca, `https://localhost:${port}/v2/`]);
    t.equal(anon.stdout, '401');
    const authfile = join(dir, 'auth.json');
    await writeFile(authfile, JSON.stringify({ auths: { [`localhost:${port}`]: { auth: Buffer.from('yocto:dist-password-1').toString('base64') } } }));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const layout = join(dir, 'layout');
    await writeLayout(layout, [{ ref: 'v1', image: makeImage() }]);
    const push = await run('skopeo', [
      '--policy',
      policy,
      'copy',
      '--dest-cert-dir',
      join(storage, 'certs'),
      '--dest-authfile',
      authfile,
      `oci:${layout}:v1`,
      `docker://localhost:${port}/yocto/app:1`,
    ]);
    t.equal(push.code, 0, push.stderr);
  },
);

t.test('a denied push or pull says which user may not do what on which repository', async (t) => {
  const s = await setup(t, ['--auth']);
  // ci may push elsewhere, but not to yocto/*; private/* is yocto's alone.
  await writeFile(
    join(s.reg.storage, 'auth', 'access.toml'),
    '[[repository]]\nmatch = "yocto/*"\npush = ["yocto"]\n\n[[repository]]\nmatch = "private/*"\npull = ["yocto"]\npush = ["yocto"]\n',
  );
  const add = await runCli(['auth', 'add', 'ci', '--password-stdin', '--storage', s.reg.storage], { input: 'ci-password-3\n' });
  t.equal(add.code, 0, add.stderr);
  const credsfile = join(s.dir, 'ci-creds');
  await writeFile(credsfile, 'CONTAINER_REGISTRY_USER=ci\nCONTAINER_REGISTRY_PASSWORD=ci-password-3\n', { mode: 0o600 });
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const client = ['--registry', s.host, '--ca-cert', join(s.certDir, 'ca.crt'), '--credsfile', credsfile, '--deploy-dir', join(root, 'images', 'qemux86-64')];
  // yocto/app: ci may pull (HEAD answers) but not push (POST answers 403 with a body).
  const push = await runCli(['push', 'app', '-t', 'v1', ...client]);
  t.equal(push.code, 1);
  t.match(push.stderr, /^container-registry: error \[denied\]: .*403.*user ci may not push yocto\/app/m);
  // private/app: ci may not even pull, and a HEAD's 403 has no body: the registry's words still come through.
  const priv = await runCli(['push', 'app', '-t', 'v1', '--namespace', 'private', ...client]);
  t.equal(priv.code, 1);
  t.match(priv.stderr, /^container-registry: error \[denied\]: .*403.*user ci may not pull private\/app/m);
  const del = await runCli(['delete', 'private/app:v1', ...client.slice(0, 6)]);
  t.equal(del.code, 1);
  t.match(del.stderr, /\[denied\]: .*403.*user ci may not pull private\/app/);
});
