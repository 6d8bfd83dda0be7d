// What every handler is handed for one request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';

/** RequestContext is one request with the store it runs against. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  store: ImageStore;
  /** mayPull tells whether the requester may read another repository (cross-repository mount) */
  mayPull(repository: string): Promise<boolean>;
}
