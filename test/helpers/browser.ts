// Debian's chromium for the web UI tests, started as the machine's notes say: headless, no sandbox
// (root), and nothing that reaches the network (the machine has none but loopback).
import { existsSync } from 'node:fs';

/** CHROMIUM is Debian's browser binary. */
export const CHROMIUM = '/usr/bin/chromium';

/** CHROMIUM_SKIP is why browser tests cannot run here, or false. */
export const CHROMIUM_SKIP: string | false = existsSync(CHROMIUM) ? false : `needs ${CHROMIUM} (Debian package chromium; run .ci/install-peers)`;

/** CHROMIUM_ARGS are the flags every browser test starts it with. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
