// The on-disk layout is distribution's, path for path.
import t from 'tap';
import { StoragePaths } from '../tools/src/storage/paths.js';
import { parseDigest } from '../tools/src/oci/digest.js';

const hex = 'ab'.padEnd(64, '0');
const d = parseDigest(`sha256:${hex}`);
const p = new StoragePaths('/s');
const v2 = '/s/docker/registry/v2';

t.equal(p.root, v2);
t.equal(p.blobData(d), `${v2}/blobs/sha256/ab/${hex}/data`);
t.equal(p.layerLink('yocto/app', d), `${v2}/repositories/yocto/app/_layers/sha256/${hex}/link`);
t.equal(p.manifestRevisionLink('yocto/app', d), `${v2}/repositories/yocto/app/_manifests/revisions/sha256/${hex}/link`);
t.equal(p.tagCurrentLink('yocto/app', 'latest'), `${v2}/repositories/yocto/app/_manifests/tags/latest/current/link`);
t.equal(p.tagIndexLink('yocto/app', 'latest', d), `${v2}/repositories/yocto/app/_manifests/tags/latest/index/sha256/${hex}/link`);
t.equal(p.uploadData('yocto/app', 'id'), `${v2}/repositories/yocto/app/_uploads/id/data`);
t.equal(p.uploadStartedAt('yocto/app', 'id'), `${v2}/repositories/yocto/app/_uploads/id/startedat`);
t.equal(p.pidFile(), '/s/container-registry.pid', 'our files sit beside docker/, never inside');
t.equal(p.logFile(), '/s/container-registry.log');
