// Progress: one bar per blob on a terminal (cli-progress), plain lines otherwise, nothing with
// --quiet or --json (then the result is printed once, as JSON).
import type { MultiBar, SingleBar } from 'cli-progress';
import { humanBytes } from '../common/format.js';
import type { BlobPushResult } from '../client/blobs.js';
import { MEDIA_TYPES } from '../oci/mediatypes.js';
import type { TagContent } from './push.js';

/** Reporter hears what a push does. */
export interface Reporter {
  blobStart(repository: string, digest: string, size: number): void;
  blobProgress(digest: string, bytes: number): void;
  /** `result` (when given) tells what an upload sent and where a resumed one went on from */
  blobDone(digest: string, how: 'exists' | 'mounted' | 'uploaded', size: number, result?: BlobPushResult): void;
  retry(what: string, attempt: number, err: unknown): void;
  tagged(repository: string, tag: string, digest: string): void;
  info(line: string): void;
  close(): void;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** resumedNote is ` (resumed at X, Y sent)` for an upload that went on from an earlier push's session. */
function resumedNote(result: BlobPushResult | undefined): string {
  if (result?.resumedFrom === undefined) return '';
  return ` (resumed at ${humanBytes(result.resumedFrom)}, ${humanBytes(result.bytesSent)} sent)`;
}

/** SilentReporter says nothing (--quiet, --json). */
export class SilentReporter implements Reporter {
  blobStart(): void {}
  blobProgress(): void {}
  blobDone(): void {}
  retry(): void {}
  tagged(): void {}
  info(): void {}
  close(): void {}
}

/** LineReporter writes one line per event (logs, CI, pipes). */
export class LineReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  blobStart(): void {}
  blobProgress(): void {}
  blobDone(digest: string, how: 'exists' | 'mounted' | 'uploaded', size: number, result?: BlobPushResult): void {
    const verb = how === 'exists' ? 'exists ' : how === 'mounted' ? 'mounted' : 'pushed ';
    this.out.write(`  blob ${short(digest)} ${verb} ${humanBytes(size)}${resumedNote(result)}\n`);
  }
  retry(what: string, attempt: number, err: unknown): void {
    this.out.write(`  retry ${attempt} of ${what}: ${(err as Error).message}\n`);
  }
  tagged(repository: string, tag: string, digest: string): void {
    this.out.write(`  ${repository}:${tag} → ${digest}\n`);
  }
  info(line: string): void {
    this.out.write(`${line}\n`);
  }
  close(): void {}
}

/** BarReporter draws a bar per blob on a terminal. */
export class BarReporter implements Reporter {
  private readonly active = new Map<string, SingleBar>();
  private closed = false;

  private constructor(private readonly bars: MultiBar) {}

  /** create loads cli-progress (only terminals need it; it costs a --json or CI push start-up time). */
  static async create(): Promise<BarReporter> {
    const { default: cliProgress } = await import('cli-progress');
    return new BarReporter(
      new cliProgress.MultiBar(
        {
          format: ' {digest} [{bar}] {percentage}% {done}/{total_h} {state}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          barsize: 30,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      ),
    );
  }

  blobStart(_repository: string, digest: string, size: number): void {
    this.active.set(digest, this.bars.create(Math.max(size, 1), 0, { digest: short(digest), done: humanBytes(0), total_h: humanBytes(size), state: '' }));
  }
  blobProgress(digest: string, bytes: number): void {
    this.active.get(digest)?.update(bytes, { done: humanBytes(bytes) });
  }
  blobDone(digest: string, how: 'exists' | 'mounted' | 'uploaded', size: number, result?: BlobPushResult): void {
    const bar = this.active.get(digest);
    bar?.update(Math.max(size, 1), { done: humanBytes(size), state: `${how}${resumedNote(result)}` });
    bar?.stop();
  }
  retry(what: string, attempt: number): void {
    this.bars.log(`retry ${attempt} of ${what}\n`);
  }
  tagged(repository: string, tag: string, digest: string): void {
    this.bars.log(`${repository}:${tag} → ${digest}\n`);
  }
  info(line: string): void {
    this.bars.log(`${line}\n`);
  }
  close(): void {
    // A second stop() would move the cursor up over lines printed after the bars.
    if (this.closed) return;
    this.closed = true;
    this.bars.stop();
  }
}

/** chooseReporter picks bars on a TTY, lines otherwise, silence for --quiet/--json. */
export async function chooseReporter(opts: { quiet: boolean; json: boolean }): Promise<Reporter> {
  if (opts.quiet || opts.json) return new SilentReporter();
  return process.stdout.isTTY ? BarReporter.create() : new LineReporter();
}

/** SummarizedResult is what summaryLines needs of a push or import result (PushResult). */
export interface SummarizedResult {
  repository: string;
  tags: string[];
  /** what this run pushed */
  digest: string;
  platforms: string[];
  /** what each tag holds afterwards */
  tagged: Record<string, TagContent>;
}

const INDEX_KINDS: Record<string, string> = { [MEDIA_TYPES.ociIndex]: 'OCI index', [MEDIA_TYPES.dockerManifestList]: 'Docker manifest list' };

/**
 * summaryLines is the text summary of a push: per repository, one line per distinct content its
 * tags hold afterwards, `registry/repository: TAG... DIGEST (PLATFORMS)`, naming an index and, when
 * the tag kept platforms this run did not push, which platforms the run pushed. `registry` is
 * written as `host[:port]` so that the line names the image the way references do.
 */
export function summaryLines(registry: string, r: SummarizedResult): string[] {
  const host = registry.replace(/^https?:\/\//i, '');
  const groups = new Map<string, { tags: string[]; content: TagContent }>();
  for (const tag of r.tags) {
    const content = r.tagged[tag] ?? { digest: r.digest, mediaType: '', platforms: r.platforms };
    const group = groups.get(content.digest);
    if (group) group.tags.push(tag);
    else groups.set(content.digest, { tags: [tag], content });
  }
  return [...groups.values()].map(({ tags, content }) => {
    const notes = [content.platforms.join(', ')];
    const kind = INDEX_KINDS[content.mediaType];
    if (kind) notes.push(content.digest !== r.digest ? `${kind}, merged: this run pushed ${r.platforms.join(', ')}` : kind);
    return `${host}/${r.repository}: ${tags.join(' ')} ${content.digest} (${notes.join('; ')})`;
  });
}
