// Bad numbers and bad settings stop the built CLI before it does anything: exit 2 and one line that
// names the flag or variable (numbers through cli/setting-options.ts, variables through the table).
import t from 'tap';
import { runCli } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';

type Case = [args: string[], env: Record<string, string>, names: RegExp];

t.test('a bad number or setting is exit 2 and one line naming it', async (t) => {
  const storage = await tempDir(t, 'cr-settings-');
  const s = ['--storage', storage];
  const cases: Case[] = [
    [['gc', ...s, '--grace', 'abc'], {}, /--grace must be a number of minutes, 0 or more$/],
    [['gc', ...s, '--grace', '-5'], {}, /--grace must be a number of minutes, 0 or more, not -5$/],
    [['gc', ...s, '--settle', 'soon'], {}, /--settle must be a number of seconds/],
    [['start', ...s, '--timeout', 'abc'], {}, /--timeout must be a number of seconds/],
    [['stop', ...s, '--timeout', '-1'], {}, /--timeout must be a number of seconds, 0 or more, not -1$/],
    [['serve', ...s, '--drain-timeout', 'x'], {}, /--drain-timeout must be a number/],
    [['serve', ...s, '--min-free-disk', '-1'], {}, /--min-free-disk must be a number of MiB, 0 or more, not -1$/],
    [['import', 'alpine', '--jobs', '0'], {}, /--jobs must be a whole number, 1 or more, not 0$/],
    [['push', '--jobs', '2.5', '--deploy-dir', storage], {}, /--jobs must be a whole number/],
    [['serve', ...s], { CONTAINER_REGISTRY_MIN_FREE_MB: 'lots' }, /CONTAINER_REGISTRY_MIN_FREE_MB must be a number of MiB, 0 or more, not "lots"$/],
    [['serve', ...s], { CONTAINER_REGISTRY_UI: 'maybe' }, /CONTAINER_REGISTRY_UI must be 1 or 0/],
    [
      ['serve', ...s],
      { CONTAINER_REGISTRY_METRICS_ACCESS: 'everyone' },
      /CONTAINER_REGISTRY_METRICS_ACCESS must be loopback, policy, anonymous or off, not "everyone"$/,
    ],
    [['serve', ...s], { CONTAINER_REGISTRY_SECURE: 'maybe' }, /CONTAINER_REGISTRY_SECURE must be 1 or 0/],
    [
      ['pki', 'init', ...s],
      { CONTAINER_REGISTRY_CERT_DAYS: 'soon' },
      /CONTAINER_REGISTRY_CERT_DAYS must be a whole number of days from 1 to 36500, not "soon"$/,
    ],
    [['config', 'docker', '--print'], { CONTAINER_REGISTRY_INSECURE: 'yes please' }, /CONTAINER_REGISTRY_INSECURE must be 1 or 0/],
    [
      ['config', 'containers', '--print'],
      { CONTAINER_REGISTRY_TARGET_NETWORK: 'bridge' },
      /CONTAINER_REGISTRY_TARGET_NETWORK must be slirp \(10\.0\.2\.2; "user" is the same\) or tap \(192\.168\.7\.1\), not "bridge"$/,
    ],
    [['list'], { CONTAINER_REGISTRY_AUTH_MODE: 'bogus' }, /CONTAINER_REGISTRY_AUTH_MODE must be none, home, authfile, credsfile or env, not "bogus"$/],
    [
      ['list'],
      { CONTAINER_REGISTRY_URL: 'ho st:5000', CONTAINER_REGISTRY_INSECURE: '1' },
      /invalid registry "ho st:5000" \(--registry, or CONTAINER_REGISTRY_URL\): invalid host/,
    ],
    [['script', ...s], { CONTAINER_REGISTRY_CA_DAYS: '0' }, /CONTAINER_REGISTRY_CA_DAYS must be a whole number of days from 1 to 36500, not "0"$/],
  ];
  for (const [args, env, names] of cases) {
    const r = await runCli(args, { env, timeoutMs: 30_000 });
    const label = `${Object.entries(env)
      .map(([k, v]) => `${k}=${v} `)
      .join('')}${args.filter((a) => a !== storage).join(' ')}`;
    t.equal(r.code, 2, `${label}: exit 2`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${label}: one line (${r.stderr.trim()})`);
    t.match(r.stderr.trim(), /^container-registry: error \[usage\]: /, label);
    t.match(r.stderr.trim(), names, label);
    t.equal(r.stdout, '', `${label}: nothing on stdout`);
  }
});

t.test('good numbers still pass', async (t) => {
  const storage = await tempDir(t, 'cr-settings-');
  const r = await runCli(['gc', '--storage', storage, '--grace', '0', '--settle', '0.5', '--dry-run', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { dryRun: true });
  const stop = await runCli(['stop', '--storage', storage, '--timeout', '1']);
  t.equal(stop.code, 0, stop.stderr);
  t.match(stop.stdout, /not running/);
});

t.test('serve --workers defaults to half the CPUs, 1 to 4 (the clients of a build host share it)', async (t) => {
  const { defaultWorkers } = await import('../tools/src/daemon/cluster-messages.js');
  t.same(
    [1, 2, 3, 4, 8, 16, 64].map((n) => defaultWorkers(n)),
    [1, 1, 1, 2, 4, 4, 4],
  );
});
