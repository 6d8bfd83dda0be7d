// The generated container-registry.sh with an s3:// storage, against a real S3 endpoint (Ceph's RADOS
// Gateway, helpers/radosgw.ts), as a build with CONTAINER_REGISTRY_STORAGE = "s3://..." in local.conf
// gets it: the script and its conf live in the local state folder and pass the URL through; the
// AWS credentials are in the environment the script runs in, never in its files; start, push (an
// OCI image from a deploy fixture), skopeo pulls it from the bucket, status, stop. In secure mode,
// pki/ and auth/ land in the state folder and nothing of them in the bucket.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BUNDLE, runCli, testUserEnv } from './helpers/registry.js';
import { writeBuild } from './helpers/deploy.js';
import { exec } from './helpers/exec.js';
import { freePort } from './helpers/ports.js';
import { missingPeer } from './helpers/peers.js';
import { tempDir } from './helpers/tmp.js';
import { createBucket, missingRadosGw, s3Client, startRadosGw } from './helpers/radosgw.js';

const skip = missingRadosGw() || missingPeer('skopeo');
const gateway = skip ? undefined : await startRadosGw(t);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** runScript runs a generated script with a bare environment (the conf's settings apply) plus `env`. */
function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...testUserEnv(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** filesUnder lists every file under `dir` (relative paths). */
async function filesUnder(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = join(base, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/** keysOf lists every key of a bucket. */
async function keysOf(bucket: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const client = await s3Client(gateway!.env);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  } finally {
    client.destroy();
  }
}

let buckets = 0;

/** setup: a bucket, a build folder with one OCI image in deploy/, and the settings BitBake hands the generator. */
async function setup(t: { teardown(fn: () => unknown): void }, extra: Record<string, string> = {}) {
  const bucket = `script-${process.pid}-${++buckets}`;
  await createBucket(gateway!.env, bucket);
  const topdir = await tempDir(t, 'cr-s3-build-');
  const { image } = await writeBuild(join(topdir, 'tmp', 'deploy', 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const port = await freePort();
  const state = join(topdir, 'container-registry-state');
  const url = `s3://${bucket}/yocto`;
  const settings: Record<string, string> = {
    CONTAINER_REGISTRY_STORAGE: url,
    CONTAINER_REGISTRY_STATE_DIR: state,
    CONTAINER_REGISTRY_URL: `localhost:${port}`,
    CONTAINER_REGISTRY_NAMESPACE: 'yocto',
    CONTAINER_REGISTRY_TAG_STRATEGY: 'latest',
    CONTAINER_REGISTRY_AUTH_MODE: 'none',
    DEPLOY_DIR_IMAGE: join(topdir, 'tmp', 'deploy', 'images', 'qemux86-64'),
    TOPDIR: topdir,
    ...extra,
  };
  return { bucket, url, state, port, image, settings };
}

t.test('container-registry.sh with an s3:// storage: start, push, pull with skopeo, stop; no secret in its files', { skip }, async (t) => {
  const s = await setup(t, { CONTAINER_REGISTRY_INSECURE: '1' });
  // The generator runs with the AWS variables in its environment (as a user's shell may have them):
  // none of them may reach the script's files.
  const gen = await runCli(['script', '--node', process.execPath, '--helper', BUNDLE], { env: { ...s.settings, ...gateway!.env } });
  t.equal(gen.code, 0, gen.stderr);
  const script = join(s.state, 'container-registry.sh');
  t.match(gen.stdout, `Wrote ${script}`, 'the script is written into the state folder');
  t.notOk(existsSync('s3:'), 'no folder named after the URL');
  const conf = await readFile(join(s.state, 'container-registry.conf'), 'utf8');
  t.match(conf, `cr_set CONTAINER_REGISTRY_STORAGE '${s.url}'`, 'the conf passes the URL through');
  t.match(conf, `cr_set CONTAINER_REGISTRY_STATE_DIR '${s.state}'`, 'and pins the state folder');
  for (const file of await filesUnder(s.state)) {
    const text = await readFile(join(s.state, file), 'utf8');
    for (const [name, value] of Object.entries(gateway!.env)) {
      if (name === 'AWS_ACCESS_KEY_ID' || name === 'AWS_SECRET_ACCESS_KEY') if (text.includes(value)) t.fail(`${file} holds ${name}`);
    }
  }
  for (const file of ['container-registry.sh', 'container-registry.conf']) {
    t.notMatch(await readFile(join(s.state, file), 'utf8'), /AWS_/, `${file} sets no AWS variable`);
  }

  // start needs the bucket, so it runs with the AWS variables; the script's conf adds the rest.
  const start = await runScript(script, ['start'], gateway!.env);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  t.teardown(() => runScript(script, ['stop'], gateway!.env));
  t.match(start.stdout, `storage ${s.state}`);
  t.ok(existsSync(join(s.state, 'container-registry.pid')), 'the PID file is in the state folder');

  // push talks HTTP to the registry: no AWS variable needed.
  const push = await runScript(script, ['push']);
  t.equal(push.code, 0, `push: ${push.stderr}`);
  const keys = await keysOf(s.bucket);
  t.ok(
    keys.some((k) => k.startsWith('yocto/docker/registry/v2/repositories/yocto/app/_manifests/tags/latest/')),
    'the tag is in the bucket, under the prefix',
  );
  t.ok(
    keys.includes(`yocto/docker/registry/v2/blobs/sha256/${s.image.manifest.digest.slice(7, 9)}/${s.image.manifest.digest.slice(7)}/data`),
    'the manifest blob is in the bucket',
  );

  const out = await tempDir(t, 'cr-s3-pull-');
  const pull = await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://localhost:${s.port}/yocto/app:latest`, `oci:${out}:app`]);
  t.equal(pull.code, 0, pull.stderr);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  t.equal(index.manifests[0]?.digest, s.image.manifest.digest, 'skopeo pulled the pushed manifest, digest verified');

  const status = await runScript(script, ['status']);
  t.equal(status.code, 0, `status: ${status.stdout}${status.stderr}`);
  const stop = await runScript(script, ['stop']);
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /Registry stopped/);
  t.notOk(existsSync(join(s.state, 'container-registry.pid')), 'stopped: no PID file');
});

t.test('secure mode with an s3:// storage: pki/ and auth/ in the state folder, never in the bucket', { skip }, async (t) => {
  const s = await setup(t, { CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_USERNAME: 'yocto' });
  const gen = await runCli(['script', '--node', process.execPath, '--helper', BUNDLE], {
    env: { ...s.settings, CONTAINER_REGISTRY_PASSWORD: 'a-build-password-1' },
  });
  t.equal(gen.code, 0, gen.stderr);
  const script = join(s.state, 'container-registry.sh');
  // What generate_registry_script runs next in secure mode.
  const pki = await runScript(script, ['pki', 'init']);
  t.equal(pki.code, 0, pki.stderr);
  for (const f of ['pki/ca.crt', 'pki/ca.key', 'pki/server.crt', 'pki/server.key', 'auth/password', 'auth/htpasswd']) {
    t.ok(existsSync(join(s.state, f)), `${f} is in the state folder`);
  }
  t.equal((await stat(join(s.state, 'pki', 'ca.key'))).mode & 0o777, 0o600, 'the CA key is 0600');
  for (const file of await filesUnder(s.state)) {
    if (file === 'auth/password' || file === 'auth/htpasswd') continue;
    t.notMatch(await readFile(join(s.state, file), 'utf8'), 'a-build-password-1', `${file} holds no password`);
  }

  const start = await runScript(script, ['start'], gateway!.env);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  t.teardown(() => runScript(script, ['stop'], gateway!.env));
  const push = await runScript(script, ['push']);
  t.equal(push.code, 0, `push over TLS with the state folder's CA and password: ${push.stderr}`);
  const out = await tempDir(t, 'cr-s3-pull-');
  const pull = await exec('skopeo', [
    'copy',
    '--src-cert-dir',
    join(s.state, 'certs'),
    '--src-creds',
    'yocto:a-build-password-1',
    `docker://localhost:${s.port}/yocto/app:latest`,
    `oci:${out}:app`,
  ]);
  t.equal(pull.code, 0, pull.stderr);
  const stop = await runScript(script, ['stop']);
  t.equal(stop.code, 0, stop.stderr);

  const keys = await keysOf(s.bucket);
  t.ok(keys.length > 0, 'the images are in the bucket');
  t.same(
    keys.filter((k) => !k.startsWith('yocto/docker/')),
    [],
    "nothing but distribution's tree in the bucket (no pki/, auth/, PID file or script)",
  );
});
