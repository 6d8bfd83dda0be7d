// Repository names and tags (references are parsed in reference.ts).
// https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
import { RegistryError } from './errors.js';

/** NAME_COMPONENT is one path component of a repository name, per the spec's grammar. */
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_GRAMMAR = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_GRAMMAR = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** MAX_NAME_LENGTH is distribution's limit on a repository name (reference.NameTotalLengthMax). */
export const MAX_NAME_LENGTH = 255;

/** nameProblem says why `name` is not a valid repository name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'repository name is empty';
  if (name.length > MAX_NAME_LENGTH) return `repository name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME_GRAMMAR.test(name)) {
    return 'repository name must be lowercase path components [a-z0-9] joined by "/", each separated internally only by ".", "_", "__" or "-"';
  }
  return undefined;
}

/** isValidRepositoryName tells whether `name` matches the spec's name grammar and length limit. */
export function isValidRepositoryName(name: string): boolean {
  return nameProblem(name) === undefined;
}

/** assertRepositoryName throws NAME_INVALID for a bad name. */
export function assertRepositoryName(name: string): void {
  const problem = nameProblem(name);
  if (problem) throw new RegistryError('NAME_INVALID', `invalid repository name ${JSON.stringify(clip(name))}: ${problem}`);
}

/** isValidTag tells whether `tag` matches `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`. */
export function isValidTag(tag: string): boolean {
  return TAG_GRAMMAR.test(tag);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
