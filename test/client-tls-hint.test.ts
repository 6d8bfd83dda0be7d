// A client command against our HTTPS registry without its CA: the error names the way out (the
// CA at <storage>/certs/ca.crt through --ca-cert, or CONTAINER_REGISTRY_SECURE=1) and how to see
// the chain the server sends (openssl s_client); with the CA given, the same command works.
import t from 'tap';
import { join } from 'node:path';
import { NetworkError } from '../tools/src/client/errors.js';
import { runCli, startTestRegistry } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';

t.test('list against HTTPS without the CA names the CA and openssl s_client', async (t) => {
  // The client sees no record of the server (as on another machine, or for another user), so
  // nothing tells it the CA: its own runtime folder is empty.
  const CLEAN_ENV = {
    CONTAINER_REGISTRY_SECURE: '',
    CONTAINER_REGISTRY_INSECURE: '',
    CONTAINER_REGISTRY_URL: '',
    CONTAINER_REGISTRY_STORAGE: '',
    XDG_RUNTIME_DIR: await tempDir(t, 'cr-client-run-'),
  };
  // Pulls opened explicitly (secure mode asks for a login by default): this test is about the CA.
  const reg = await startTestRegistry(t, { args: ['--tls', '--pull', 'anonymous'], env: { XDG_RUNTIME_DIR: await tempDir(t, 'cr-server-run-') } });
  const address = `127.0.0.1:${reg.port}`;

  const bare = await runCli(['list', '--all', '--registry', address], { env: CLEAN_ENV });
  t.not(bare.code, 0, 'exits non-zero');
  t.match(bare.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/, 'the TLS error stays in the line');
  t.match(bare.stderr, '--ca-cert <storage>/certs/ca.crt', 'names the CA to give');
  t.match(bare.stderr, 'CONTAINER_REGISTRY_SECURE=1');
  t.match(bare.stderr, `openssl s_client -connect ${address} -showcerts`, 'says how to see the chain');
  t.equal(bare.stderr.trim().split('\n').length, 1, 'one line');

  // The way out it names works.
  const withCa = await runCli(['list', '--all', '--registry', address, '--ca-cert', join(reg.storage, 'certs', 'ca.crt')], { env: CLEAN_ENV });
  t.equal(withCa.code, 0, withCa.stderr);
  const secure = await runCli(['list', '--all', '--storage', reg.storage], {
    env: { ...CLEAN_ENV, CONTAINER_REGISTRY_SECURE: '1', CONTAINER_REGISTRY_URL: address },
  });
  t.equal(secure.code, 0, secure.stderr);
});

t.test('every certificate error gets the hint; others do not', async (t) => {
  const codes = [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ];
  for (const code of codes) {
    const err = new NetworkError('GET', 'https://registry.example:5443/v2/', Object.assign(new Error('x'), { code }));
    t.match(err.hint, 'openssl s_client -connect registry.example:5443 -showcerts', code);
    t.equal(err.retryable, false, `${code} is not retried`);
  }
  t.match(
    new NetworkError('GET', 'https://h:1/', Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })).hint,
    '--ca-cert <storage>/certs/ca.crt',
  );
  t.match(new NetworkError('GET', 'https://h:1/', Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' })).hint, 'pki renew');
  t.match(
    new NetworkError('GET', 'https://h/', Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).hint,
    /does not name h:443.*CONTAINER_REGISTRY_CERT_SAN/,
  );
  t.equal(new NetworkError('GET', 'https://h:1/', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).hint, undefined);
});
