// list, tags, catalog, inspect, delete: reading (and untagging) what the registry holds.
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { imageName, registryOptions, resolveRegistry, withTarget, type RegistryArgs } from '../registry-options.js';
import { catalog, listTags } from '../../client/listing.js';
import { deleteTag } from '../../manage/delete.js';
import { inspectImage } from '../../manage/inspect.js';
import { humanBytes } from '../../common/format.js';

interface BrowseArgs extends RegistryArgs {
  json: boolean;
  all: boolean;
}

const print = (line: string) => process.stdout.write(`${line}\n`);

const listCommand: CommandModule<object, BrowseArgs> = {
  command: 'list',
  describe: 'List the images of the namespace with their tags',
  builder: (y) =>
    registryOptions(y)
      .option('all', { type: 'boolean', default: false, describe: 'Every repository, not only the namespace' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: BrowseArgs) => {
    await withTarget(args, async (target) => {
      const repos = (await catalog(target.session)).filter((r) => args.all || !target.namespace || r.startsWith(`${target.namespace}/`));
      const out: Record<string, string[]> = {};
      for (const r of repos) out[r] = ((await listTags(target.session, r)) ?? []).sort();
      if (args.json) print(JSON.stringify(out, null, 2));
      else if (!repos.length) print(`(no images${target.namespace && !args.all ? ` in ${target.namespace}/` : ''})`);
      else for (const r of repos) print(`${r}: ${out[r]!.join(' ') || '(no tags)'}`);
    });
  },
};

interface TagsArgs extends BrowseArgs {
  image: string;
}

const tagsCommand: CommandModule<object, TagsArgs> = {
  command: 'tags <image>',
  describe: 'List the tags of an image',
  builder: (y) =>
    registryOptions(y).positional('image', { type: 'string' }).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: TagsArgs) => {
    await withTarget(args, async (target) => {
      const repository = imageName(args.image, target).repository;
      const tags = await listTags(target.session, repository);
      if (!tags) throw new HelperError('not-found', `${repository} does not exist`);
      if (args.json) print(JSON.stringify({ name: repository, tags }, null, 2));
      else for (const t of tags) print(t);
    });
  },
};

const catalogCommand: CommandModule<object, BrowseArgs> = {
  command: 'catalog',
  describe: 'List every repository (the API catalog, all pages)',
  builder: (y) => registryOptions(y).option('json', { type: 'boolean', default: false, describe: 'Print {"repositories":[...]}' }) as never,
  handler: async (args: BrowseArgs) => {
    await withTarget(args, async (target) => {
      const repositories = await catalog(target.session);
      if (args.json) print(JSON.stringify({ repositories }, null, 2));
      else for (const r of repositories) print(r);
    });
  },
};

const inspectCommand: CommandModule<object, TagsArgs> = {
  command: 'inspect <image>',
  describe: 'Show an image: media type, digest, platforms, layers, labels',
  builder: (y) =>
    registryOptions(y)
      .positional('image', { type: 'string', describe: 'name[:tag|@digest]' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: TagsArgs) => {
    await withTarget(args, async (target) => {
      const ref = imageName(args.image, target);
      const repository = ref.repository;
      const tag = ref.digest ?? ref.tag ?? 'latest';
      const info = await inspectImage(target.session, repository, tag);
      if (args.json) {
        print(JSON.stringify(info, null, 2));
        return;
      }
      // name@digest or name:tag: a tag never holds ':', a digest always does.
      print(`${target.registry}/${repository}${tag.includes(':') ? '@' : ':'}${tag}`);
      print(`  digest:     ${info.digest}`);
      print(`  media type: ${info.mediaType}`);
      if (info.manifests.length) print(`  platforms:  ${info.manifests.map((m) => m.platform ?? '?').join(', ')}`);
      for (const img of info.images) {
        print(`  ${img.platform ?? 'image'} ${img.digest}`);
        if (img.created) print(`    created: ${img.created}`);
        print(`    config:  ${img.config.digest} (${humanBytes(img.config.size)})`);
        for (const l of img.layers) print(`    layer:   ${l.digest} ${humanBytes(l.size)} ${l.mediaType}`);
        print(`    size:    ${humanBytes(img.size)}`);
        for (const [k, v] of Object.entries(img.labels)) print(`    label:   ${k}=${v}`);
      }
    });
  },
};

interface DeleteArgs extends RegistryArgs {
  image: string;
  force: boolean;
  json: boolean;
}

const deleteCommand: CommandModule<object, DeleteArgs> = {
  command: 'delete <image>',
  describe: 'Delete one tag (name:tag); other tags of the same image stay',
  builder: (y) =>
    registryOptions(y)
      .positional('image', { type: 'string', describe: 'name:tag' })
      .option('force', { type: 'boolean', default: false, describe: 'On a registry that deletes by digest only, also remove the other tags sharing it' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as never,
  handler: async (args: DeleteArgs) => {
    // Read before the session opens: a usage error comes first. The tag grammar is the parser's.
    const { repository, tag, digest } = imageName(args.image, resolveRegistry(args.registry, args.namespace));
    if (digest) throw new HelperError('usage', `delete removes one tag: give name:tag, not a digest (got ${JSON.stringify(args.image)})`);
    if (!tag) throw new HelperError('usage', `delete needs name:tag (got ${JSON.stringify(args.image)}); a tag is never guessed`);
    await withTarget(args, async (target) => {
      const r = await deleteTag(target.session, repository, tag, args.force);
      if (args.json) print(JSON.stringify(r, null, 2));
      else {
        print(`Deleted ${r.repository}:${r.tag} (${r.digest})`);
        if (r.alsoRemoved.length) print(`Also removed (same digest, --force): ${r.alsoRemoved.join(' ')}`);
      }
    });
  },
};

/** browseCommands are list, tags, catalog, inspect and delete. */
// biome-ignore lint/suspicious/noExplicitAny: commands of different argument types in one list, as yargs takes them
export const browseCommands: CommandModule<any, any>[] = [listCommand, tagsCommand, catalogCommand, inspectCommand, deleteCommand];
