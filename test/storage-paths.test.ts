// The on-disk layout is distribution's, path for path; the helper's own files sit beside it.
import t from 'tap';
import { StoragePaths } from '../tools/src/storage/paths.js';
import { StateDir } from '../tools/src/state/state-dir.js';
import { parseDigest } from '../tools/src/oci/digest.js';

const hex = 'ab'.padEnd(64, '0');
const d = parseDigest(`sha256:${hex}`);
const p = new StoragePaths('/s');
const v2 = '/s/docker/registry/v2';

t.equal(p.root, v2);
t.equal(p.blobData(d), `${v2}/blobs/sha256/ab/${hex}/data`);
t.equal(p.layerLink('yocto/app', d), `${v2}/repositories/yocto/app/_layers/sha256/${hex}/link`);
t.equal(p.manifestRevisionLink('yocto/app', d), `${v2}/repositories/yocto/app/_manifests/revisions/sha256/${hex}/link`);
t.equal(p.manifestRevisionUntagged('yocto/app', d), `${v2}/repositories/yocto/app/_manifests/revisions/sha256/${hex}/untagged`);
t.equal(p.tagCurrentLink('yocto/app', 'latest'), `${v2}/repositories/yocto/app/_manifests/tags/latest/current/link`);
t.equal(p.tagIndexLink('yocto/app', 'latest', d), `${v2}/repositories/yocto/app/_manifests/tags/latest/index/sha256/${hex}/link`);
t.equal(p.uploadData('yocto/app', 'id'), `${v2}/repositories/yocto/app/_uploads/id/data`);
t.equal(p.uploadStartedAt('yocto/app', 'id'), `${v2}/repositories/yocto/app/_uploads/id/startedat`);
t.equal(p.manifestsDir('yocto/app'), `${v2}/repositories/yocto/app/_manifests`);

const s = new StateDir('/s');
t.equal(s.storage.root, v2, "the state directory holds distribution's tree");
t.equal(StateDir.of(s), s, 'StateDir.of passes an object through');
t.equal(StateDir.of('/s').dir, '/s');
t.equal(s.pidFile(), '/s/container-registry.pid', 'our files sit beside docker/, never inside');
t.equal(s.logFile(), '/s/container-registry.log');
t.equal(s.serverConfig(), '/s/config.toml');
t.equal(s.gcStats(), '/s/gc-stats.json');
t.equal(s.caKey(), '/s/pki/ca.key');
t.equal(s.serverCert(), '/s/pki/server.crt');
t.equal(s.certsCaCert(), '/s/certs/ca.crt');
t.equal(s.htpasswd(), '/s/auth/htpasswd');
t.equal(s.passwordFile(), '/s/auth/password');
t.equal(s.accessConfig(), '/s/auth/access.toml');
