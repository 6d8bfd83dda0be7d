// The s3:// storage URL: what it names, what it refuses, and that a bad one is a usage error (exit 2)
// before anything is written; where the local state directory goes.
import t from 'tap';
import { parseObjectStoreUrl, formatObjectStoreUrl, isObjectStoreUrl } from '../tools/src/storage/object-store-url.js';
import { runCli } from './helpers/registry.js';
import { tempDir } from './helpers/tmp.js';

t.test('parseObjectStoreUrl', async (t) => {
  t.same(parseObjectStoreUrl('s3://images'), { bucket: 'images', prefix: '' });
  t.same(parseObjectStoreUrl('s3://images/team/reg/'), { bucket: 'images', prefix: 'team/reg' });
  t.same(parseObjectStoreUrl('s3://images/reg?path-style=false'), { bucket: 'images', prefix: 'reg', pathStyle: false });
  t.same(parseObjectStoreUrl('s3://images/reg?redirect=true'), { bucket: 'images', prefix: 'reg', redirectSeconds: 300 });
  t.same(parseObjectStoreUrl('s3://images/reg?redirect=true&redirect-expires=60'), { bucket: 'images', prefix: 'reg', redirectSeconds: 60 });
  t.same(parseObjectStoreUrl('s3://images/reg?redirect=false&redirect-expires=60'), { bucket: 'images', prefix: 'reg' });
  t.equal(formatObjectStoreUrl(parseObjectStoreUrl('s3://images/team/')), 's3://images/team');
  t.ok(isObjectStoreUrl('S3://x'));
  t.notOk(isObjectStoreUrl('/srv/s3://x'));
  for (const bad of [
    's3://',
    's3://ab',
    's3://Images',
    's3://images/a//b',
    's3://images/../x',
    's3://images/x?region=eu',
    's3://images/x?path-style=maybe',
    's3://images/x?redirect=1',
    's3://images/x?redirect=true&redirect-expires=0',
    's3://images/x?redirect=true&redirect-expires=1e3',
    's3://images/x?redirect=true&redirect-expires=604801',
  ]) {
    t.throws(() => parseObjectStoreUrl(bad), { code: 'usage' }, bad);
  }
});

t.test('a bad s3:// storage is refused in one line, exit 2; the state directory is one per bucket and prefix', async (t) => {
  const home = await tempDir(t, 'cr-s3-url-');
  const bad = await runCli(['gc', '--storage', 's3://Bad_Bucket/x', '--dry-run'], { env: { XDG_DATA_HOME: home } });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /not an S3 bucket name/);
  t.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
});
