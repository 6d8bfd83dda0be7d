// Command-line side of the pull-through cache: `serve --mirror HOST[=URL] --cache-ttl DURATION` (or
// CONTAINER_REGISTRY_MIRRORS and CONTAINER_REGISTRY_CACHE_TTL). cache/config.ts merges them with
// config.toml's [[cache.upstreams]], where credentials live.
import type { Argv } from 'yargs';
import { settingOption } from './setting-options.js';
import { mirrorItems, type CacheChoices } from '../cache/config.js';

/** CacheArgs are the parsed flags. */
export interface CacheArgs {
  mirror?: string | string[];
  'cache-ttl': string;
}

/** cacheOptions adds `--mirror` (repeatable) and `--cache-ttl`. */
export function cacheOptions<T>(y: Argv<T>) {
  return y.option('mirror', settingOption('CONTAINER_REGISTRY_MIRRORS')).option('cache-ttl', settingOption('CONTAINER_REGISTRY_CACHE_TTL'));
}

/** cacheChoices maps the flags to what serve is started with. */
export function cacheChoices(args: CacheArgs): CacheChoices {
  return { mirrors: mirrorItems(args.mirror), ttl: args['cache-ttl'] };
}
