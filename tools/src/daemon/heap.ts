// V8 tuning for the server process, which streams blobs through a small, steady heap.
//
// Once the old generation passes V8's 8 MB activation threshold (it does at start, with the UI,
// metrics and the CLI loaded) and its allocation limit sits less than a new space away, V8 starts
// incremental marking after nearly every scavenge. Streaming allocates fast in the new space (a
// Buffer per socket read or file read), so the server ran a full mark-compact every ~15 MiB:
// 9-12 per 128 MiB PATCH + GET, server CPU per GiB pulled 1.1-1.3 s instead of 0.5-0.6 s
// (bench/registry.mjs; `node --trace-gc`). Without incremental marking V8 collects the old
// generation only when it reaches its limit, and that limit is computed as usual, so memory stays
// bounded; the cost is that such a collection is one pause (milliseconds at this heap size).

import { setFlagsFromString } from 'node:v8';

/** tuneHeapForStreaming turns off V8's incremental marking for this process (see above). */
export function tuneHeapForStreaming(): void {
  setFlagsFromString('--no-incremental-marking');
}
