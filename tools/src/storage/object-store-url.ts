// The s3:// storage URL: `s3://BUCKET[/PREFIX][?path-style=true|false&redirect=true|false&redirect-expires=SECONDS]`.
// Only names and choices: the endpoint, region and credentials come from the environment
// (s3-driver.ts), never from argv.
import { HelperError } from '../errors/helper-error.js';

/** ObjectStoreLocation is where in which bucket distribution's tree lives. */
export interface ObjectStoreLocation {
  bucket: string;
  /** the key prefix, without slashes at either end ('' for the bucket's root) */
  prefix: string;
  /** path-style requests; undefined: on with a custom endpoint (AWS_ENDPOINT_URL), else off */
  pathStyle?: boolean;
  /** blob GETs answer 307 to a presigned URL of the object, valid this many seconds (absent: served through) */
  redirectSeconds?: number;
}

/** REDIRECT_SECONDS is how long a presigned blob URL stays valid unless the URL says otherwise. */
export const REDIRECT_SECONDS = 300;

/** isObjectStoreUrl tells a storage URL from a directory. */
export function isObjectStoreUrl(storage: string): boolean {
  return /^s3:\/\//i.test(storage);
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** parseObjectStoreUrl reads an s3:// URL; a bad one is a usage error naming what is wrong. */
export function parseObjectStoreUrl(storage: string): ObjectStoreLocation {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(storage);
  if (!m) throw new HelperError('usage', `--storage ${storage}: expected s3://BUCKET[/PREFIX]`);
  const bucket = m[1]!;
  if (!BUCKET.test(bucket)) throw new HelperError('usage', `--storage: "${bucket}" is not an S3 bucket name (3-63 of a-z 0-9 . -)`);
  const prefix = m[2]!.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new HelperError('usage', `--storage: the prefix "${prefix}" has an empty, . or .. part`);
  }
  const query = new URLSearchParams(m[3] ?? '');
  let pathStyle: boolean | undefined;
  let redirect = false;
  let redirectSeconds = REDIRECT_SECONDS;
  for (const [k, v] of query) {
    if ((k === 'path-style' || k === 'redirect') && (v === 'true' || v === 'false')) {
      if (k === 'path-style') pathStyle = v === 'true';
      else redirect = v === 'true';
    } else if (k === 'redirect-expires' && /^[0-9]{1,6}$/.test(v) && Number(v) >= 1 && Number(v) <= 604_800) {
      redirectSeconds = Number(v);
    } else {
      throw new HelperError(
        'usage',
        `--storage: unknown option ${k}=${v} (path-style=true|false, redirect=true|false, redirect-expires=SECONDS from 1 to 604800)`,
      );
    }
  }
  return { bucket, prefix, ...(pathStyle === undefined ? {} : { pathStyle }), ...(redirect ? { redirectSeconds } : {}) };
}

/** formatObjectStoreUrl is the URL of a location, for logs. */
export function formatObjectStoreUrl(l: ObjectStoreLocation): string {
  return `s3://${l.bucket}${l.prefix ? `/${l.prefix}` : ''}`;
}
