// list, tags, catalog, inspect, delete: reading (and untagging) what the registry holds.
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { imageName, registryOptions, resolveRegistry, withTarget, type RegistryArgs } from '../registry-options.js';
import { catalog, listTags } from '../../client/listing.js';
import { deleteTag } from '../../manage/delete.js';
import { inspectImage } from '../../manage/inspect.js';
import { humanBytes } from '../../common/format.js';
import { artifactTypeOf, chooseReferrer, fetchArtifactLayer, imageReferrers, type ReferrerEntry } from '../../manage/referrers.js';
import { writeFile } from 'node:fs/promises';

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
      printReferrers(info.referrers);
    });
  },
};

/** referrerLine is one referrer as inspect and referrers print it: type, size, digest, platform. */
function referrerLine(r: ReferrerEntry): string {
  const where = r.platform ? ` (${r.platform})` : '';
  return `${r.artifactType ?? r.mediaType}  ${humanBytes(r.size)}  ${r.digest}${where}${r.via === 'tag' ? ' [fallback tag]' : ''}`;
}

function printReferrers(referrers: ReferrerEntry[]): void {
  if (!referrers.length) {
    print('  referrers: none');
    return;
  }
  print('  referrers:');
  for (const r of referrers) print(`    ${referrerLine(r)}`);
}

interface ReferrersArgs extends RegistryArgs {
  image: string;
  type: string | undefined;
  platform: string | undefined;
  output: string | undefined;
  layer: number;
  json: boolean;
}

const referrersCommand: CommandModule<object, ReferrersArgs> = {
  command: 'referrers <image>',
  describe: 'List what refers to an image (SBOM, provenance, signatures); with --type, fetch one',
  builder: (y) =>
    registryOptions(y)
      .positional('image', { type: 'string', describe: 'name[:tag|@digest]' })
      .option('type', {
        type: 'string',
        describe: 'Fetch the artifact of this artifactType (sbom = application/spdx+json, provenance = application/vnd.in-toto+json); the newest if several',
      })
      .option('platform', { type: 'string', describe: 'For an index: the platform whose artifact to fetch (os/arch[/variant])' })
      .option('output', { alias: 'o', type: 'string', describe: 'Write the document to this file instead of stdout' })
      .option('layer', { type: 'number', default: 1, describe: "Which of the artifact's documents to fetch (1 = the first; an SPDX 2.2 SBOM's archive is 2)" })
      .option('json', { type: 'boolean', default: false, describe: 'Print the list as JSON' }) as never,
  handler: async (args: ReferrersArgs) => {
    if (!Number.isSafeInteger(args.layer) || args.layer < 1) throw new HelperError('usage', `--layer takes 1, 2, ... (got ${args.layer})`);
    await withTarget(args, async (target) => {
      const ref = imageName(args.image, target);
      const reference = ref.digest ?? ref.tag ?? 'latest';
      const type = args.type ? artifactTypeOf(args.type) : undefined;
      const entries = await imageReferrers(target.session, ref.repository, reference, type);
      if (!type) {
        if (args.output) throw new HelperError('usage', '--output needs --type: name the artifact to fetch (sbom, provenance, or a media type)');
        if (args.json) print(JSON.stringify({ repository: ref.repository, reference, referrers: entries }, null, 2));
        else if (!entries.length) print(`(nothing refers to ${ref.repository}${reference.includes(':') ? '@' : ':'}${reference})`);
        else for (const r of entries) print(referrerLine(r));
        return;
      }
      const chosen = chooseReferrer(entries, `${type} artifact of ${ref.repository}${reference.includes(':') ? '@' : ':'}${reference}`, args.platform);
      const doc = await fetchArtifactLayer(target.session, ref.repository, chosen.digest, args.layer - 1);
      if (args.output) {
        await writeFile(args.output, doc.content);
        process.stderr.write(`Wrote ${humanBytes(doc.content.length)} (${doc.layer.mediaType}, ${doc.layer.digest}) to ${args.output}\n`);
      } else {
        process.stdout.write(doc.content);
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
export const browseCommands: CommandModule<any, any>[] = [listCommand, tagsCommand, catalogCommand, inspectCommand, referrersCommand, deleteCommand];
