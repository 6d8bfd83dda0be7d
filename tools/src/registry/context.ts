// What every handler is handed for one request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore } from '../storage/store.js';

/** RequestTarget is the request's path (as sent, dot segments kept) and query. */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/** RequestContext is one request with the store it runs against. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
  store: ImageStore;
  /** mayPull tells whether the requester may read another repository (cross-repository mount) */
  mayPull(repository: string): Promise<boolean>;
}
