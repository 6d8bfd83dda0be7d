// Where passwords come from: the environment, stdin, or a generator. Nothing here prints one; an
// error names the problem, never the password.
import { randomInt } from 'node:crypto';
import { HelperError } from '../errors/helper-error.js';

/** GENERATED_LENGTH: 24 characters of 62 give about 143 bits. */
export const GENERATED_LENGTH = 24;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** generatePassword makes a random password from letters and digits (safe in any config file). */
export function generatePassword(length = GENERATED_LENGTH): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** checkPassword rejects what bcrypt or the files cannot hold: empty, over 72 bytes, line breaks, NUL. */
export function checkPassword(password: string, source: string): string {
  if (password.length === 0) throw new HelperError('password', `the password from ${source} is empty`);
  // bcrypt reads at most 72 bytes; a longer password would silently match on its first 72 alone.
  if (Buffer.byteLength(password, 'utf8') > 72) throw new HelperError('password', `the password from ${source} is longer than 72 bytes (bcrypt's limit)`);
  if (/[\r\n\0]/.test(password)) throw new HelperError('password', `the password from ${source} contains a line break or NUL`);
  return password;
}

/**
 * MIN_LENGTH is the fewest characters a password a person chooses may have. A registry in secure
 * mode often listens beyond this machine (QEMU guests, a lab network), and a password of a few
 * characters falls to guessing even at the pace the login limiter allows. Generated ones have 24.
 */
export const MIN_LENGTH = 8;

/** checkNewPassword is checkPassword plus MIN_LENGTH, for a password being set (typed, piped or given in the environment). */
export function checkNewPassword(password: string, source: string): string {
  checkPassword(password, source);
  const length = [...password].length;
  if (length < MIN_LENGTH) {
    throw new HelperError(
      'password',
      `the password from ${source} has ${length} characters; at least ${MIN_LENGTH}, as a shorter one is guessed quickly even at the pace the registry allows logins (or let one be generated)`,
    );
  }
  return password;
}

/** readPasswordFrom reads a password from a stream (stdin): the first line, without its line break. */
export async function readPasswordFrom(stream: NodeJS.ReadableStream, source = 'stdin'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(b);
    size += b.length;
    if (size > 4096) throw new HelperError('password', `the password from ${source} is too long`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const firstLine = text.split('\n')[0]!.replace(/\r$/, '');
  return checkPassword(firstLine, source);
}
