// Label rewrite: `--label k=v` changes the image config's Labels, which gives a new config digest
// and so a new manifest; layers are untouched (same digests, nothing re-uploaded).
import { digestOf } from '../oci/digest.js';
import type { ImageContent } from './layout.js';
import { bufferSource } from './layout.js';

/** parseLabel reads `key=value` (the value may be empty or hold '='). */
export function parseLabel(text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new Error(`--label must be KEY=VALUE, got ${JSON.stringify(text.slice(0, 80))}`);
  return [text.slice(0, i), text.slice(i + 1)];
}

/** withLabels returns `image` with `labels` set in its config; the same image when nothing changes. */
export function withLabels(image: ImageContent, labels: Record<string, string>): ImageContent {
  if (!Object.keys(labels).length) return image;
  const config = JSON.parse(image.configBody.toString('utf8')) as { config?: { Labels?: Record<string, string> | null } };
  const current = config.config?.Labels ?? {};
  if (Object.entries(labels).every(([k, v]) => current[k] === v)) return image;
  config.config = { ...(config.config ?? {}), Labels: { ...current, ...labels } };
  const configBody = Buffer.from(JSON.stringify(config));
  const configDigest = digestOf(configBody);
  const manifestDoc = JSON.parse(image.manifest.toString('utf8')) as { config: { digest: string; size: number } };
  manifestDoc.config = { ...manifestDoc.config, digest: configDigest, size: configBody.length };
  const manifest = Buffer.from(JSON.stringify(manifestDoc));
  const newConfig = { ...image.config, digest: configDigest, size: configBody.length };
  const original = image.blob;
  return {
    ...image,
    manifest,
    manifestDigest: digestOf(manifest),
    config: newConfig,
    configBody,
    blob: (d) => (d.digest === configDigest ? bufferSource(configDigest, configBody) : original(d)),
  };
}
