// Messages that say what happened and what to do: a local registry that does not run names its
// real URL and the command that starts it (a remote one names the URL really tried), an unknown
// command names the word, and `config` finds the storage's CA in secure mode or says which command
// creates it. The built CLI, as users run it.
import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/registry.js';
import { freePort } from './helpers/ports.js';
import { writeBuild } from './helpers/deploy.js';
import { tempDir } from './helpers/tmp.js';

/** clean is an environment with no record of any registry and none of a build's settings. */
async function clean(t: Test): Promise<Record<string, string>> {
  return {
    CONTAINER_REGISTRY_URL: '',
    CONTAINER_REGISTRY_SECURE: '',
    CONTAINER_REGISTRY_INSECURE: '',
    CONTAINER_REGISTRY_STORAGE: '',
    CR_SCRIPT: '',
    XDG_RUNTIME_DIR: await tempDir(t, 'cr-run-'),
  };
}
t.test('a local registry that does not run: its real URL and how to start it; a remote one: the URL tried', async (t) => {
  const env = await clean(t);
  const port = await freePort();
  const local = `127.0.0.1:${port}`;
  const root = await tempDir(t);
  await writeBuild(join(root, 'images'), { machine: 'qemux86-64', image: 'app', stamp: '20260112143022' });
  const deploy = join(root, 'images', 'qemux86-64');
  const want = `container-registry: error [not-running]: registry not running at http://${local}: start it with container-registry start\n`;
  for (const args of [['list'], ['tags', 'app'], ['catalog'], ['delete', 'app:v1'], ['push', '--deploy-dir', deploy]]) {
    const r = await runCli(args, { env: { ...env, CONTAINER_REGISTRY_URL: local } });
    t.equal(r.stderr, want, args.join(' '));
    t.equal(r.code, 3, `${args[0]}: exit 3, as status for a stopped registry`);
  }
  // Insecure mode (plain HTTP) names http:// too, though HTTPS is tried first.
  const insecure = await runCli(['list', '--registry', local], { env: { ...env, CONTAINER_REGISTRY_URL: local, CONTAINER_REGISTRY_INSECURE: '1' } });
  t.equal(insecure.stderr, want, 'insecure mode');
  // Run from the generated script, the hint names the script as it was run.
  const script = await runCli(['list'], { env: { ...env, CONTAINER_REGISTRY_URL: local, CR_SCRIPT: '/b d/container-registry.sh' } });
  t.equal(
    script.stderr,
    `container-registry: error [not-running]: registry not running at http://${local}: start it with '/b d/container-registry.sh' start\n`,
  );

  // Secure mode serves HTTPS only: that is the URL named.
  const storage = await tempDir(t, 'cr-secure-');
  t.equal((await runCli(['pki', 'init', '--storage', storage])).code, 0);
  const secure = await runCli(['list', '--storage', storage], { env: { ...env, CONTAINER_REGISTRY_URL: `localhost:${port}`, CONTAINER_REGISTRY_SECURE: '1' } });
  t.equal(
    secure.stderr,
    `container-registry: error [not-running]: registry not running at https://localhost:${port}: start it with container-registry start\n`,
  );
  // Secure mode before the first start: no CA yet, and the message says so.
  const fresh = await tempDir(t, 'cr-fresh-');
  const noCa = await runCli(['list', '--storage', fresh], { env: { ...env, CONTAINER_REGISTRY_URL: local, CONTAINER_REGISTRY_SECURE: '1' } });
  t.equal(
    noCa.stderr,
    `container-registry: error [tls]: secure mode: the registry CA ${join(fresh, 'certs', 'ca.crt')} does not exist; has the registry been started? (container-registry start)\n`,
  );

  // Another registry: no start hint, and the URL really tried (plain HTTP after HTTPS on this machine).
  const remote = await runCli(['list', '--registry', local], { env: { ...env, CONTAINER_REGISTRY_URL: 'localhost:5000' } });
  t.equal(remote.code, 1);
  t.match(remote.stderr, new RegExp(`^container-registry: error \\[network\\]: GET http://${local}/v2/: ECONNREFUSED`));
  const https = await runCli(['list', '--registry', `https://${local}`], { env: { ...env, CONTAINER_REGISTRY_URL: 'localhost:5000' } });
  t.match(https.stderr, new RegExp(`^container-registry: error \\[network\\]: GET https://${local}/v2/: ECONNREFUSED`), 'https:// fixes the scheme');
});

t.test('an unknown command names the word, with the suggestion', async (t) => {
  const cases: Array<[string[], string]> = [
    [['foo'], 'unknown command "foo"; did you mean stop?'],
    [['lsit', '--json'], 'unknown command "lsit"; did you mean list?'],
    [['--verbose', 'zzzzzzzz'], 'unknown command "zzzzzzzz"; see --help for the commands'],
    [['pki', 'shw'], 'unknown command "pki shw"; did you mean pki show?'],
    [['auth', 'lst'], 'unknown command "auth lst"; did you mean auth list?'],
    [['list', 'extra'], 'Unknown argument: extra'],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    t.equal(r.stderr, `container-registry: error [usage]: ${message}\n`, args.join(' '));
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
  }
});

t.test("config in secure mode: the CA defaults to the storage's, and a missing one names the command that creates it", async (t) => {
  const env = { ...(await clean(t)), CONTAINER_REGISTRY_SECURE: '1' };
  const storage = await tempDir(t, 'cr-config-');
  const missing = await runCli(['config', 'containerd', '--print', '--storage', storage], { env });
  t.equal(
    missing.stderr,
    `container-registry: error [missing-ca]: the registry CA ${join(storage, 'pki', 'ca.crt')} does not exist yet: \`container-registry pki init\` (or \`container-registry start\` in secure mode) creates it; or give --ca FILE\n`,
  );
  t.equal(missing.code, 2);
  const fromScript = await runCli(['config', 'ca', '--print'], { env: { ...env, CONTAINER_REGISTRY_STORAGE: storage, CR_SCRIPT: './container-registry.sh' } });
  t.match(fromScript.stderr, '`./container-registry.sh pki init` (or `./container-registry.sh start` in secure mode) creates it');

  t.equal((await runCli(['pki', 'init', '--storage', storage])).code, 0);
  const ca = await readFile(join(storage, 'pki', 'ca.crt'), 'utf8');
  for (const how of [['--storage', storage], []]) {
    const r = await runCli(['config', 'containerd', '--print', ...how], { env: { ...env, CONTAINER_REGISTRY_STORAGE: storage } });
    t.equal(r.code, 0, r.stderr);
    t.equal(
      r.stdout
        .split('### ')
        .find((f) => f.split('\n', 1)[0]!.endsWith('/ca.crt'))
        ?.replace(/^[^\n]*\n/, ''),
      ca,
      `the storage's CA (${how.join(' ') || 'CONTAINER_REGISTRY_STORAGE'})`,
    );
  }
  // --ca still wins, and outside secure mode containerd's config needs no CA.
  const other = join(storage, 'other-ca.crt');
  await writeFile(other, '-----BEGIN CERTIFICATE-----\nb3RoZXI=\n-----END CERTIFICATE-----\n');
  const given = await runCli(['config', 'containerd', '--print', '--ca', other, '--storage', storage], { env });
  t.match(given.stdout, 'b3RoZXI=');
  const plain = await runCli(['config', 'containerd', '--print', '--storage', await tempDir(t)], { env: { ...env, CONTAINER_REGISTRY_SECURE: '' } });
  t.equal(plain.code, 0, plain.stderr);
});
