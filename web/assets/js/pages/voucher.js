// A voucher's detail (#/voucher/<id>): its fields (GET /voucher/{id}), its request
// (GET /request/{req_id}), its audit entries (GET /audit, which filters by organization
// only: this page reads the log from the voucher's request time on and keeps the entries
// whose target is the voucher), and the inclusion proof of its latest entry in the signed
// audit log (GET /voucher/{id}/proof), checked here against the checkpoint's root hash.
import {query} from '../api.js';
import {badge, confirmDialog, el, messageOf, replace, saveFile, table, time} from '../dom.js';

const AUDIT_PAGE = 1000;   // entries per GET /audit, the API's largest page
const AUDIT_PAGES = 50;    // pages read before the page offers to read on

export async function render(main, ctx) {
  const id = ctx.args[0] || ctx.params.get('id') || '';
  main.append(el('p', {class: 'breadcrumb'}, el('a', {href: '#/home', text: '← Requests and vouchers'})));
  if (!id) {
    main.append(el('h1', {text: 'No voucher named'}),
      el('p', {text: 'Open a voucher from the table on the home page.'}));
    return;
  }
  let voucher;
  try {
    voucher = (await ctx.api('GET', `/voucher/${encodeURIComponent(id)}`)).voucher;
  } catch (e) {
    main.append(el('h1', {text: 'Voucher not available'}),
      el('p', {class: 'error-text', role: 'alert', 'data-testid': 'voucher-error', text: messageOf(e)}));
    return;
  }

  const header = el('div', {class: 'page-header'});
  const details = el('section', {class: 'card', 'aria-labelledby': 'details-title'});
  const request = el('section', {class: 'card', 'aria-labelledby': 'request-title', 'data-testid': 'request-card'});
  const audit = el('section', {class: 'card', 'aria-labelledby': 'audit-title', 'data-testid': 'audit-card'});
  const proof = el('section', {class: 'card', 'aria-labelledby': 'proof-title', 'data-testid': 'proof-card'});
  main.append(header, el('div', {class: 'card-grid'}, details, request), proof, audit);

  async function reload() {
    voucher = (await ctx.api('GET', `/voucher/${encodeURIComponent(id)}`)).voucher;
    drawHeader();
    drawDetails();
    loadProof();
    if (ctx.can('audit')) loadAudit();
  }

  function drawHeader() {
    const v = voucher;
    const buttons = [];
    if (ctx.can('download')) {
      buttons.push(el('button', {type: 'button', 'data-testid': 'download', text: 'Download voucher',
        onclick: async (e) => {
          const b = e.currentTarget;
          b.disabled = true;
          try {
            saveFile(await ctx.apiBlob(`/voucher/${encodeURIComponent(v.voucher_id)}/download`, `${v.serial_number}.vcj`));
          } catch (err) {
            ctx.toast(`The voucher could not be downloaded: ${messageOf(err)}`, 'error');
          } finally {
            b.disabled = false;
          }
        }}));
      buttons.push(el('button', {type: 'button', 'data-testid': 'download-request', text: 'Download request',
        onclick: async () => {
          try {
            saveFile(await ctx.apiBlob(`/request/${encodeURIComponent(v.req_id)}/download`, `${v.req_id}.tar`));
          } catch (err) {
            ctx.toast(`The request could not be downloaded: ${messageOf(err)}`, 'error');
          }
        }}));
    }
    if (ctx.can('request') && v.status !== 'archived' && v.status !== 'superseded') {
      buttons.push(el('button', {type: 'button', 'data-testid': 'regenerate', text: 'Regenerate',
        onclick: async (e) => {
          e.currentTarget.disabled = true;
          try {
            await ctx.api('POST', `/voucher/${encodeURIComponent(v.voucher_id)}/renew`, {});
            ctx.toast(`The voucher for ${v.serial_number} was regenerated.`, 'success');
            await reload();
          } catch (err) {
            ctx.toast(`The voucher could not be regenerated: ${messageOf(err)}`, 'error');
            await reload().catch(() => {});
          }
        }}));
    }
    if (ctx.can('archive') && v.status !== 'archived') {
      buttons.push(el('button', {type: 'button', class: 'danger-outline', 'data-testid': 'archive', text: 'Archive',
        onclick: async () => {
          const yes = await confirmDialog({title: 'Archive voucher', danger: true, confirm: 'Archive',
            testid: 'confirm-archive',
            message: `Archive the voucher for ${v.serial_number}? It stays downloadable and in the audit log, but can no longer be regenerated.`});
          if (!yes) return;
          try {
            await ctx.api('POST', `/voucher/${encodeURIComponent(v.voucher_id)}/archive`);
            ctx.toast(`The voucher for ${v.serial_number} was archived.`, 'success');
            await reload();
          } catch (err) {
            ctx.toast(`The voucher could not be archived: ${messageOf(err)}`, 'error');
          }
        }}));
    }
    replace(header,
      el('div', {},
        el('h1', {}, `Voucher for ${v.serial_number} `, badge(v.status)),
        el('p', {class: 'muted mono', text: v.voucher_id})),
      el('div', {class: 'row'}, buttons));
  }

  function drawDetails() {
    const v = voucher;
    const reqLink = el('a', {href: `#/home${query({in: 'req_id', q: v.req_id})}`, class: 'mono', text: v.req_id});
    replace(details,
      el('h2', {id: 'details-title', text: 'Details'}),
      props([
        ['Serial number', v.serial_number],
        ['Status', badge(v.status)],
        ['Assertion', v.assertion],
        ['Requested by', v.requested_by],
        ['Requested', time(v.requested_at)],
        ['Issued', time(v.created_at)],
        ['Expires', time(v.expires_at)],
        ['Last regenerated', v.last_renewal_at ? time(v.last_renewal_at) : 'never'],
        ['PDC organization', v.pdc_organization || '—'],
        ['Request ID', reqLink],
        ['Voucher ID', el('span', {class: 'mono', text: v.voucher_id})],
      ], 'voucher-details'));
  }

  async function loadRequest() {
    replace(request, el('h2', {id: 'request-title', text: 'Request'}), el('p', {class: 'muted', text: 'Loading…'}));
    try {
      const r = (await ctx.api('GET', `/request/${encodeURIComponent(voucher.req_id)}`)).request;
      const failed = (r.serials || []).filter((s) => s.status !== 'completed');
      replace(request,
        el('h2', {id: 'request-title', text: 'Request'}),
        props([
          ['Status', badge(r.status)],
          ['Requested', time(r.requested_at)],
          ['Requested by', r.requested_by],
          ['Serial numbers', `${(r.serials || []).length} (${(r.serials || []).length - failed.length} issued)`],
          ['IEN', r.ien || '—'],
          ['OS type', r.os_type || 'default'],
          ['Security profile', r.security_profile || 'default'],
          ['Override', r.override ? 'yes' : 'no'],
        ], 'request-details'),
        failed.length ? el('ul', {class: 'field-error-list'}, failed.map((s) =>
          el('li', {}, el('strong', {text: s.serial_number}), `: ${s.reason || s.status}`))) : null);
    } catch (e) {
      replace(request, el('h2', {id: 'request-title', text: 'Request'}),
        el('p', {class: 'error-text', text: messageOf(e)}));
    }
  }

  async function loadProof() {
    replace(proof, el('h2', {id: 'proof-title', text: 'Inclusion proof'}), el('p', {class: 'muted', text: 'Loading…'}));
    let p;
    try {
      p = (await ctx.api('GET', `/voucher/${encodeURIComponent(id)}/proof`)).proof;
    } catch (e) {
      // 409: the entry came after the latest signed checkpoint (signed every few minutes
      // or every so many entries); the proof exists once the next one is signed.
      const pending = e.status === 409;
      replace(proof, el('h2', {id: 'proof-title', text: 'Inclusion proof'}),
        el('p', {class: pending ? 'muted' : 'error-text', 'data-testid': pending ? 'proof-pending' : 'proof-error',
          text: pending
            ? 'The voucher\'s latest audit entry is not in a signed checkpoint yet: the appliance signs one every few minutes. Check again later.'
            : messageOf(e)}),
        el('button', {type: 'button', class: 'small', 'data-testid': 'proof-retry', text: 'Check again', onclick: loadProof}));
      return;
    }
    const check = await checkProof(p);
    replace(proof,
      el('h2', {id: 'proof-title', text: 'Inclusion proof'}),
      el('p', {class: 'muted', text: 'The voucher\'s latest audit entry is a leaf of the signed, append-only audit log (RFC 9162 Merkle tree); the checkpoint below is signed by the appliance\'s audit key.'}),
      el('p', {class: check.ok ? 'success-text' : 'error-text', role: 'status', 'data-testid': 'proof-check',
        text: check.ok
          ? `✔ The proof leads from entry ${p.leaf_index} to the checkpoint's root hash (log size ${p.tree_size}).`
          : `✘ ${check.message}`}),
      props([
        ['Leaf index', String(p.leaf_index)],
        ['Log size', String(p.tree_size)],
        ['Proof hashes', String(p.hashes.length)],
      ], 'proof-details'),
      el('h3', {text: 'Checkpoint'}),
      el('pre', {class: 'block', 'data-testid': 'checkpoint', text: p.checkpoint}),
      el('details', {},
        el('summary', {text: 'Proof hashes (base64)'}),
        el('pre', {class: 'block', text: p.hashes.join('\n') || '(none: the log has one entry)'})));
  }

  let auditRun = 0;
  async function loadAudit() {
    const run = ++auditRun;
    const rows = [];
    const status = el('p', {class: 'muted', role: 'status', 'data-testid': 'audit-status', text: 'Reading the audit log…'});
    const holder = el('div', {class: 'table-wrap'});
    replace(audit, el('h2', {id: 'audit-title', text: 'Audit entries'}), status, holder);
    const suffix = `/${voucher.voucher_id}`;
    const from = await firstSeqAt(voucher.requested_at);
    let seq = from;
    let pages = 0;
    const draw = () => replace(holder, table({
      columns: [
        {label: 'Seq', cell: (e) => String(e.seq), className: 'nowrap'},
        {label: 'Time', cell: (e) => time(e.time), className: 'nowrap'},
        {label: 'Action', cell: (e) => e.action, header: true},
        {label: 'Actor', cell: (e) => e.actor},
        {label: 'Outcome', cell: (e) => e.outcome || '—'},
        {label: 'Object hash', className: 'id', cell: (e) => (e.object_hash
          ? el('span', {title: e.object_hash, text: `${e.object_hash.slice(0, 16)}…`}) : '—')},
      ],
      rows, caption: 'Audit entries of this voucher', testid: 'audit-entries',
      empty: 'No audit entries found for this voucher.',
    }));
    try {
      for (;;) {
        const page = await ctx.api('GET', `/audit${query({from: seq, limit: AUDIT_PAGE})}`);
        if (run !== auditRun) return;
        for (const e of page.entries) {
          if (e.target.endsWith(suffix)) rows.push(e);
        }
        pages += 1;
        if (page.next_seq <= seq) break;  // the end of the log
        seq = page.next_seq;
        if (pages % AUDIT_PAGES === 0) {
          draw();
          const more = await new Promise((resolve) => {
            status.replaceChildren(`Read entries ${from} to ${seq - 1}. `,
              el('button', {type: 'button', class: 'link', text: 'Read on', onclick: () => resolve(true)}));
          });
          if (!more || run !== auditRun) return;
        }
      }
    } catch (e) {
      if (run !== auditRun) return;
      status.textContent = `The audit log could not be read: ${messageOf(e)}`;
      status.className = 'error-text';
      draw();
      return;
    }
    status.textContent = `${rows.length} entr${rows.length === 1 ? 'y' : 'ies'} (from entry ${from} on, the voucher's request time).`;
    draw();
  }

  // The first audit sequence number of the organization's entries at or after `when`:
  // GET /audit?from=N&limit=1 answers the organization's first entry from N on, so a
  // galloping then a binary search over N finds it in a few dozen calls. Any doubt (an
  // error, a stretch of other organizations' entries) errs early: reading on costs time,
  // never entries.
  async function firstSeqAt(when) {
    const target = Date.parse(when);
    const probe = async (n) => (await ctx.api('GET', `/audit${query({from: n, limit: 1})}`)).entries[0] || null;
    let lo = 0;
    let hi = 1;
    try {
      for (;;) {
        const e = await probe(hi);
        if (!e || Date.parse(e.time) >= target) break;
        lo = e.seq + 1;
        hi = Math.max(hi * 2, lo);
      }
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const e = await probe(mid);
        if (!e || Date.parse(e.time) >= target) {
          hi = mid;
        } else {
          lo = e.seq + 1;
        }
      }
    } catch (e) {
      return 0;
    }
    return lo;
  }

  drawHeader();
  drawDetails();
  await Promise.all([loadRequest(), loadProof()]);
  if (ctx.can('audit')) {
    loadAudit();
  } else {
    replace(audit, el('h2', {id: 'audit-title', text: 'Audit entries'}),
      el('p', {class: 'muted', text: 'Your roles do not include reading the audit log; an administrator of your organization can see this voucher\'s entries.'}));
  }
}

function props(pairs, testid) {
  return el('dl', {class: 'props', 'data-testid': testid},
    pairs.map(([k, v]) => [el('dt', {text: k}), el('dd', {}, v)]));
}

// ---- RFC 9162 inclusion proof ---------------------------------------------------------

function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Checks `proof` ({leaf_index, tree_size, leaf, hashes, checkpoint}) as RFC 9162 2.1.3.2
// does: the root it computes must be the checkpoint's (its third line). {ok, message}.
export async function checkProof(proof) {
  if (!globalThis.crypto || !crypto.subtle) {
    return {ok: false, message: 'This browser cannot compute SHA-256 here (not a secure context); the proof was not checked.'};
  }
  const lines = String(proof.checkpoint).split('\n');
  const size = Number(lines[1]);
  let root;
  try {
    root = fromBase64(lines[2] || '');
  } catch (e) {
    return {ok: false, message: 'The checkpoint has no readable root hash.'};
  }
  if (size !== proof.tree_size) {
    return {ok: false, message: `The checkpoint is of log size ${size}, the proof of ${proof.tree_size}.`};
  }
  let fn = proof.leaf_index;
  let sn = proof.tree_size - 1;
  if (fn > sn) return {ok: false, message: 'The leaf index is outside the log.'};
  let r = await sha256(new Uint8Array([0]), fromBase64(proof.leaf));
  const one = new Uint8Array([1]);
  for (const text of proof.hashes) {
    const p = fromBase64(text);
    if (sn === 0) return {ok: false, message: 'The proof is longer than the tree is deep.'};
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(one, p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(one, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return {ok: false, message: 'The proof is shorter than the tree is deep.'};
  if (!equal(r, root)) return {ok: false, message: 'The proof does not lead to the checkpoint\'s root hash.'};
  return {ok: true, message: ''};
}
