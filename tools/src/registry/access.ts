// The access hook between the HTTP layer and whatever decides who may do what.
// The server asks once per request, before any handler runs; with no controller everything is
// anonymous and allowed (insecure mode's default). Secure mode supplies a controller built from
// htpasswd and the pull/push policy.

/** AccessAction is what a request wants to do. */
export type AccessAction = 'pull' | 'push' | 'delete' | 'catalog' | 'ping' | 'metrics' | 'ui';

/** AccessRequest describes one HTTP request to the controller. */
export interface AccessRequest {
  action: AccessAction;
  /** repository the request names; undefined for /v2/ and /v2/_catalog */
  repository: string | undefined;
  /** the raw Authorization header, if any (never logged) */
  authorization: string | undefined;
  /** the peer's address, for rate limiting */
  remoteAddress: string;
}

/** AccessDecision is the controller's answer. */
export type AccessDecision =
  | { allowed: true; user: string | undefined }
  | {
      allowed: false;
      /** 401: no or bad credentials; 403: a known user without the right; 429: slowed down */
      status: 401 | 403 | 429;
      user: string | undefined;
      /** WWW-Authenticate value for a 401 */
      challenge?: string;
      /** seconds, for a 429 */
      retryAfter?: number;
      message?: string;
    };

/** AccessController decides every request. */
export interface AccessController {
  check(request: AccessRequest): Promise<AccessDecision>;
}

/** ALLOW_ALL is the controller of insecure mode: every request anonymous and allowed. */
export const ALLOW_ALL: AccessController = {
  async check() {
    return { allowed: true, user: undefined };
  },
};
