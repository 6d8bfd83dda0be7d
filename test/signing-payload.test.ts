// The simple signing payload and the name rule, without a registry: what is signed is what
// containers/image parses (signature/internal/sigstore_payload.go, strict about `critical`), and a
// signed name matches an image's name as its matchRepoDigestOrExact does.
import t from 'tap';
import { encodePayload, parsePayload, PayloadError, signatureTag } from '../tools/src/signing/payload.js';
import { identityMatches } from '../tools/src/signing/verify.js';
import { dockerReference } from '../tools/src/signing/image.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

t.test('encodePayload writes exactly the fields containers/image requires, and parsePayload reads them back', async (t) => {
  const bytes = encodePayload({ digest: DIGEST, reference: 'localhost:5000/yocto/app:v1', creator: 'x', timestamp: 1700000000 });
  t.same(JSON.parse(bytes.toString()), {
    critical: {
      identity: { 'docker-reference': 'localhost:5000/yocto/app:v1' },
      image: { 'docker-manifest-digest': DIGEST },
      type: 'cosign container image signature',
    },
    optional: { creator: 'x', timestamp: 1700000000 },
  });
  t.same(parsePayload(bytes), { digest: DIGEST, reference: 'localhost:5000/yocto/app:v1', creator: 'x', timestamp: 1700000000 });
  t.same(JSON.parse(encodePayload({ digest: DIGEST, reference: 'r/x:1' }).toString()).optional, {}, 'optional is always there');
});

t.test('parsePayload refuses what containers/image refuses', async (t) => {
  const good = {
    critical: { identity: { 'docker-reference': 'r/x:1' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' },
    optional: {},
  };
  const parse = (doc: unknown) => () => parsePayload(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));
  t.same(parsePayload(Buffer.from(JSON.stringify({ ...good, optional: null }))), { digest: DIGEST, reference: 'r/x:1' }, 'cosign writes "optional": null');
  t.same(parsePayload(Buffer.from(JSON.stringify({ ...good, optional: { other: [1] } }))).digest, DIGEST, 'unknown optional fields are ignored');
  t.throws(parse('not json'), PayloadError);
  t.throws(parse({ ...good, extra: 1 }), { message: /unknown field "extra"/ });
  t.throws(parse({ critical: good.critical }), { message: /lacks field "optional"/ });
  t.throws(parse({ ...good, critical: { ...good.critical, extra: 1 } }), { message: /critical has unknown field/ });
  t.throws(parse({ ...good, critical: { ...good.critical, type: 'atomic container signature' } }), { message: /unknown signature type/ });
  t.throws(parse({ ...good, critical: { ...good.critical, image: { 'docker-manifest-digest': DIGEST, more: 1 } } }), {
    message: /critical\.image has unknown field/,
  });
  t.throws(parse({ ...good, critical: { ...good.critical, identity: {} } }), { message: /critical\.identity lacks field "docker-reference"/ });
  t.throws(parse({ ...good, critical: { ...good.critical, identity: { 'docker-reference': 5 } } }), { message: /is not a string/ });
  t.throws(parse({ ...good, optional: { timestamp: 1.5 } }), { message: /timestamp is not an integer/ });
  t.throws(parse({ ...good, optional: [] }), { message: /optional is not a JSON object/ });
});

t.test('signature tags and names', async (t) => {
  t.equal(signatureTag(DIGEST), `sha256-${'a'.repeat(64)}.sig`);
  t.equal(signatureTag(`sha512:${'b'.repeat(128)}`), `sha512-${'b'.repeat(128)}.sig`);
  t.throws(() => signatureTag('latest'));
  t.equal(dockerReference({ registryHost: 'localhost:5000', repository: 'yocto/app', reference: 'v1' }), 'localhost:5000/yocto/app:v1');
  t.equal(dockerReference({ registryHost: 'localhost:5000', repository: 'yocto/app', reference: DIGEST }), `localhost:5000/yocto/app@${DIGEST}`);
  const cases: Array<[string, string, boolean]> = [
    ['localhost:5000/yocto/app:v1', 'localhost:5000/yocto/app:v1', true],
    ['localhost:5000/yocto/app:v2', 'localhost:5000/yocto/app:v1', false],
    ['localhost:5000/yocto/app:v1', 'localhost:5000/yocto/app', false],
    [`localhost:5000/yocto/app@${DIGEST}`, 'localhost:5000/yocto/app:v1', true],
    [`localhost:5000/yocto/app@${DIGEST}`, 'localhost:5000/yocto/other:v1', false],
    [`localhost:5000/yocto/app@${DIGEST}`, 'localhost:5000/yocto/app', false],
    ['localhost:5000/yocto/app:v1', '127.0.0.1:5000/yocto/app:v1', false],
  ];
  for (const [intended, signed, want] of cases) t.equal(identityMatches(intended, signed), want, `${intended} / ${signed}`);
});
