// A HEAD answer has no body, so a refused HEAD (401, 403) tells only its status: `403 Forbidden`,
// not the registry's `user ci may not pull private/app`. To say what the registry says, the same
// request is sent again as GET and only its error body is read, as docker's client does for a
// failed HEAD. Nothing is sent when the HEAD's answer was one the caller expects.
import type { RegistrySession, SessionRequest } from './session.js';
import { ERROR_BODY_MAX, discard, expectStatus, httpError, readBody, type HttpResponse } from './transport.js';

/** REFUSALS are the statuses whose reason only a body carries. */
const REFUSALS = new Set([401, 403]);

/** expectHeadStatus is expectStatus for the answer to HEAD `req`: a refusal carries the diagnostics of the same request as GET. */
export async function expectHeadStatus(s: RegistrySession, req: SessionRequest, scopes: string[], res: HttpResponse, ...codes: number[]): Promise<void> {
  if (codes.includes(res.status)) return;
  await discard(res);
  if (!REFUSALS.has(res.status)) return expectStatus(res, ...codes);
  let text = '';
  try {
    const get = await s.request({ ...req, method: 'GET' }, scopes);
    if (get.status === res.status) text = (await readBody(get, ERROR_BODY_MAX)).toString('utf8');
    // Anything else (content, a redirect) is not read.
    else get.body.destroy();
  } catch {
    // No explanation to be had: the status alone.
  }
  throw httpError(res, text);
}
