// The registry's web UI: a hash router over three views (repositories, tags, image), fed by
// /ui/api/. Plain DOM, no framework, no innerHTML: every value from the registry becomes text.

const main = document.getElementById('main');

/** h builds an element: h('a', {href: '#'}, 'text', child). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function bytes(n) {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? String(n) : n.toFixed(1)} ${units[i]}`;
}

function shortDigest(d) {
  return d ? d.replace(/^sha256:/, '').slice(0, 12) : '';
}

function platformText(p) {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/') + (p['os.version'] ? ` ${p['os.version']}` : '');
}

function link(params) {
  return `#${new URLSearchParams(params).toString()}`;
}

class ApiError extends Error {}

// The API's base from the origin and path alone: a page opened as https://user:pw@host/ui/ keeps
// the credentials in its base URL, and fetch refuses a URL built on it ("Request cannot be
// constructed from a URL that includes credentials"). The browser's login for the origin still
// goes with each call.
const API_BASE = new URL('api/', location.origin + location.pathname);

async function api(path, init) {
  const res = await fetch(new URL(path, API_BASE), Object.assign({ headers: { Accept: 'application/json' }, credentials: 'same-origin' }, init));
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg = body?.errors?.[0] ? body.errors[0].message : `${res.status} ${res.statusText}`;
    throw new ApiError(msg);
  }
  return body;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function showError(err) {
  show(
    h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err)),
    h('p', {}, h('a', { href: '#' }, 'Back to the repositories')),
  );
}

/** copyText writes to the clipboard; over plain HTTP (not a secure context) it falls back to a selection copy. */
async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection copy
  }
  input.focus();
  input.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

function pullLine(label, command) {
  const input = h('input', { type: 'text', readonly: true, value: command, 'aria-label': `${label} command` });
  const button = h('button', { type: 'button', title: 'Copy to the clipboard' }, 'Copy');
  button.addEventListener('click', async () => {
    const ok = await copyText(command, input);
    button.textContent = ok ? 'Copied' : 'Select + copy';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
  return h('div', { class: 'pull' }, h('span', { class: 'pill' }, label), input, button);
}

function confirmDialog(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

// ---- repositories ----------------------------------------------------------------------------

async function viewRepositories(params) {
  document.title = 'Repositories · container registry';
  const data = await api('repositories');
  const search = h('input', { type: 'search', placeholder: 'Search repositories', 'aria-label': 'Search repositories', value: params.get('q') || '' });
  const tbody = h('tbody');
  const count = h('span');
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const rows = data.repositories.filter((r) => r.name.toLowerCase().includes(q));
    count.textContent = `${rows.length} of ${data.repositories.length} repositories`;
    tbody.replaceChildren(
      ...rows.map((r) =>
        h('tr', {}, h('td', {}, h('a', { href: link({ repo: r.name }) }, r.name)), h('td', { class: 'num' }, r.tags + (r.tags === 1 ? ' tag' : ' tags'))),
      ),
    );
    if (rows.length === 0)
      tbody.append(
        h(
          'tr',
          {},
          h('td', { colspan: 2, class: 'muted' }, data.repositories.length ? 'No repository matches.' : 'The registry is empty: push an image to see it here.'),
        ),
      );
  };
  search.addEventListener('input', () => {
    render();
    history.replaceState(null, '', search.value ? link({ q: search.value }) : '#');
  });
  render();
  show(
    h('h1', {}, 'Repositories'),
    h('div', { class: 'stats' }, count, h('span', {}, `${data.stats.tags} tags`), h('span', {}, `${bytes(data.stats.bytes)} in ${data.stats.blobs} blobs`)),
    h('div', { class: 'bar' }, search),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Repository'), h('th', { class: 'num' }, 'Tags'))), tbody),
  );
  search.focus();
}

// ---- tags -----------------------------------------------------------------------------------

async function viewTags(params) {
  const repo = params.get('repo');
  const last = params.get('last') || '';
  const q = params.get('q') || '';
  document.title = `${repo} · container registry`;
  const query = new URLSearchParams({ repository: repo, n: '50' });
  if (last) query.set('last', last);
  if (q) query.set('q', q);
  const data = await api(`tags?${query}`);
  const search = h('input', { type: 'search', placeholder: 'Filter tags', 'aria-label': 'Filter tags', value: q });
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => (location.hash = link(Object.assign({ repo }, search.value ? { q: search.value } : {}))), 250);
  });
  const rows = data.tags.map((t) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: link({ repo, ref: t.tag }) }, t.tag)),
      h('td', { class: 'mono' }, shortDigest(t.digest)),
      h('td', { class: 'hide-narrow' }, h('span', { class: 'pill' }, t.isIndex ? 'index' : 'image')),
    ),
  );
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No tags.')));
  const pager = h('div', { class: 'pager' });
  if (last) pager.append(h('button', { type: 'button', onclick: () => history.back() }, '← Previous'));
  if (data.next)
    pager.append(
      h(
        'button',
        { type: 'button', class: 'primary', onclick: () => (location.hash = link(Object.assign({ repo, last: data.next }, q ? { q } : {}))) },
        'Next →',
      ),
    );
  show(
    h('div', { class: 'crumbs' }, h('a', { href: '#' }, 'Repositories'), ' / '),
    h('h1', {}, repo),
    h('div', { class: 'stats' }, h('span', {}, data.total + (data.total === 1 ? ' tag' : ' tags'))),
    h('div', { class: 'bar' }, search),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Tag'), h('th', {}, 'Digest'), h('th', { class: 'hide-narrow' }, 'Kind'))), h('tbody', {}, rows)),
    pager,
  );
}

// ---- image ----------------------------------------------------------------------------------

function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    dl.append(h('dt', {}, k), h('dd', {}, v));
  }
  return dl;
}

const LABEL_NAMES = {
  'org.opencontainers.image.version': 'Version',
  'org.opencontainers.image.revision': 'Revision',
  'org.opencontainers.image.ref.name': 'Branch / ref',
  'org.opencontainers.image.source': 'Source',
  'org.opencontainers.image.created': 'Created',
  'org.opencontainers.image.title': 'Title',
};

async function deleteTag(repo, tag) {
  if (
    !(await confirmDialog(
      'Delete the tag ' +
        repo +
        ':' +
        tag +
        '? The image stays reachable by its digest (and other tags) until gc --delete-untagged removes what no tag reaches.',
    ))
  )
    return;
  try {
    await api(`tag?${new URLSearchParams({ repository: repo, tag })}`, { method: 'DELETE' });
    location.hash = link({ repo });
  } catch (err) {
    showError(err);
  }
}

function indexSizeNote(img) {
  return img.totalComplete ? ' (every platform; layers they share counted once)' : ' (at least: some platforms could not be sized)';
}

async function viewImage(params) {
  const repo = params.get('repo');
  const ref = params.get('ref');
  document.title = `${repo + (ref.includes(':') ? '@' : ':') + shortDigest(ref)} · container registry`;
  const img = await api(`image?${new URLSearchParams({ repository: repo, reference: ref })}`);
  const byDigest = ref.includes(':');
  const name = `${location.host}/${repo}${byDigest ? `@${ref}` : `:${ref}`}`;
  const insecure = location.protocol === 'http:';
  const parts = [
    h('div', { class: 'crumbs' }, h('a', { href: '#' }, 'Repositories'), ' / ', h('a', { href: link({ repo }) }, repo), ' /'),
    h('h1', {}, repo, byDigest ? h('span', { class: 'muted' }, `@${shortDigest(ref)}`) : `:${ref}`),
  ];
  const prominent = Object.entries(img.prominent);
  if (prominent.length) {
    parts.push(
      h(
        'section',
        { class: 'labels', 'aria-label': 'Build labels' },
        prominent.map(([k, v]) => h('div', {}, h('span', { class: 'k' }, LABEL_NAMES[k] || k), h('span', { class: 'v' }, v))),
      ),
    );
  }
  parts.push(
    h('h2', {}, 'Pull'),
    pullLine('docker', `docker pull ${name}`),
    pullLine('podman', `podman pull ${insecure ? '--tls-verify=false ' : ''}${name}`),
    pullLine(
      'skopeo',
      'skopeo copy ' +
        (img.isIndex ? '--all ' : '') +
        (insecure ? '--src-tls-verify=false ' : '') +
        'docker://' +
        name +
        ' oci:' +
        repo.split('/').pop() +
        ':' +
        (byDigest ? 'latest' : ref),
    ),
  );
  const config = img.config || {};
  parts.push(
    h('h2', {}, 'Manifest'),
    kv([
      ['Digest', h('code', {}, img.digest)],
      ['Media type', img.mediaType],
      ['Total size', bytes(img.totalSize) + (img.isIndex ? indexSizeNote(img) : '')],
      ['Platform', config.os ? platformText({ os: config.os, architecture: config.architecture }) : undefined],
      ['Created', config.created],
      // The API names an artifact type only for artifacts (never an image's config type).
      ['Artifact type', img.artifactType || undefined],
      ['Subject', img.subject ? h('a', { href: link({ repo, ref: img.subject.digest }) }, img.subject.digest) : undefined],
      ['Tags here', img.tags.join(', ') + (img.tagsTruncated ? ' (and maybe more: the repository has too many tags to search them all)' : '')],
    ]),
  );
  if (img.isIndex) {
    parts.push(
      h('h2', {}, 'Platforms'),
      h(
        'table',
        { id: 'platforms' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Platform'), h('th', {}, 'Digest'), h('th', { class: 'num' }, 'Size'))),
        h(
          'tbody',
          {},
          img.platforms.map((p) =>
            h(
              'tr',
              {},
              h('td', {}, platformText(p.platform)),
              h('td', { class: 'mono' }, h('a', { href: link({ repo, ref: p.digest }) }, shortDigest(p.digest))),
              h('td', { class: 'num', title: `manifest ${bytes(p.size)}` }, p.imageSize === null ? '—' : bytes(p.imageSize)),
            ),
          ),
        ),
      ),
    );
  }
  if (img.layers.length) {
    parts.push(
      h('h2', {}, 'Layers'),
      h(
        'table',
        { id: 'layers' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, '#'), h('th', {}, 'Digest'), h('th', { class: 'hide-narrow' }, 'Media type'), h('th', { class: 'num' }, 'Size')),
        ),
        h(
          'tbody',
          {},
          img.layers.map((l, i) =>
            h(
              'tr',
              {},
              h('td', {}, String(i + 1)),
              h('td', { class: 'mono' }, shortDigest(l.digest)),
              h('td', { class: 'hide-narrow' }, l.mediaType),
              h('td', { class: 'num' }, bytes(l.size)),
            ),
          ),
        ),
      ),
    );
  }
  if (img.config) {
    parts.push(
      h('h2', {}, 'Config'),
      kv([
        ['Entrypoint', config.entrypoint ? h('code', {}, JSON.stringify(config.entrypoint)) : undefined],
        ['Cmd', config.cmd ? h('code', {}, JSON.stringify(config.cmd)) : undefined],
        ['Working dir', config.workingDir],
        ['User', config.user],
        ['Ports', (config.exposedPorts || []).join(', ')],
        [
          'Env',
          (config.env || []).length
            ? h(
                'div',
                {},
                config.env.map((e) => h('div', {}, h('code', {}, e))),
              )
            : undefined,
        ],
      ]),
    );
  }
  // Empty values (buildah writes org.opencontainers.image.base.* so) say nothing: no empty box.
  const labels = Object.entries(img.labels).filter(([, v]) => v !== '');
  const annotations = Object.entries(img.annotations).filter(([, v]) => v !== '');
  if (labels.length) parts.push(h('h2', {}, 'Labels'), kv(labels.map(([k, v]) => [k, v])));
  if (annotations.length) parts.push(h('h2', {}, 'Annotations'), kv(annotations.map(([k, v]) => [k, v])));
  parts.push(h('h2', {}, 'Referrers'));
  if (img.referrers.length) {
    parts.push(
      h(
        'table',
        { id: 'referrers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Artifact type'), h('th', {}, 'Digest'), h('th', { class: 'num' }, 'Size'))),
        h(
          'tbody',
          {},
          img.referrers.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, r.artifactType || r.mediaType),
              h('td', { class: 'mono' }, h('a', { href: link({ repo, ref: r.digest }) }, shortDigest(r.digest))),
              h('td', { class: 'num' }, bytes(r.size)),
            ),
          ),
        ),
      ),
    );
  } else {
    parts.push(h('p', { class: 'muted' }, 'No signatures, SBOMs or other artifacts refer to this manifest.'));
  }
  parts.push(...supplyChainSection(repo, img.supplyChain));
  if (img.mayDelete && !byDigest) {
    parts.push(
      h('h2', {}, 'Manage'),
      h('button', { type: 'button', class: 'danger', id: 'delete-tag', onclick: () => deleteTag(repo, ref) }, `Delete tag ${ref}`),
    );
  }
  show(...parts);
}

// ---- supply chain: SBOM, provenance, whether it is signed ---------------------------------------

function platformNote(item) {
  return item.platform ? ` (${item.platform})` : '';
}

function supplyChainSection(repo, sc) {
  if (!sc || (!sc.sboms.length && !sc.provenance.length && !sc.signed)) return [];
  const parts = [h('h2', {}, 'Supply chain')];
  parts.push(h('p', { id: 'signed', class: sc.signed ? 'pill' : 'muted' }, sc.signed ? 'Signed' : 'Not signed'));
  for (const s of sc.sboms) {
    parts.push(
      h('h3', {}, `SBOM${platformNote(s)}`),
      kv([
        ['Format', s.version],
        ['Packages', String(s.packages)],
        ['Artifact', h('a', { href: link({ repo, ref: s.digest }) }, shortDigest(s.digest))],
      ]),
    );
    if (s.licenses.length) {
      parts.push(
        h(
          'table',
          { class: 'sbom-licenses' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Licence'), h('th', { class: 'num' }, 'Packages'))),
          h(
            'tbody',
            {},
            s.licenses.map(([expr, n]) => h('tr', {}, h('td', {}, expr), h('td', { class: 'num' }, String(n)))),
          ),
        ),
      );
      if (s.licensesTruncated) parts.push(h('p', { class: 'muted' }, 'The most used licences; the SBOM has more.'));
    }
  }
  for (const p of sc.provenance) {
    parts.push(
      h('h3', {}, `Provenance${platformNote(p)}`),
      kv([
        ['Builder', p.builder],
        ['Build type', p.buildType],
        ['Started', p.startedOn],
        ['Finished', p.finishedOn],
        ...Object.entries(p.parameters),
        ['Signatures', p.signatures ? String(p.signatures) : 'none (unsigned envelope)'],
        ['Artifact', h('a', { href: link({ repo, ref: p.digest }) }, shortDigest(p.digest))],
      ]),
    );
    if (p.layers.length) {
      parts.push(
        h(
          'table',
          { class: 'provenance-layers' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Layer'), h('th', { class: 'hide-narrow' }, 'Repository'), h('th', {}, 'Revision'))),
          h(
            'tbody',
            {},
            p.layers.map((l) =>
              h(
                'tr',
                {},
                h('td', {}, l.name),
                h('td', { class: 'hide-narrow' }, l.uri || ''),
                h('td', { class: 'mono', title: l.revision || '' }, (l.revision || '').slice(0, 12)),
              ),
            ),
          ),
        ),
      );
    }
  }
  return parts;
}

// ---- router ---------------------------------------------------------------------------------

async function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    if (params.get('repo') && params.get('ref')) await viewImage(params);
    else if (params.get('repo')) await viewTags(params);
    else await viewRepositories(params);
  } catch (err) {
    showError(err);
  }
}

document.getElementById('where').textContent = location.host;
window.addEventListener('hashchange', route);
route();
