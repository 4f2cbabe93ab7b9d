// The vendor's account team: assign serial numbers to organizations (pasted or from a file,
// sent in chunks with a progress bar), the organizations, and any organization's vouchers
// and audit log (read only).
import {
  el, field, select, section, dataTable, time, statusLine, busy, fileText, badge, pageFrame,
  idCell,
} from './parts.js';
import {parseSerials} from '../new-request.js';

// Serials per POST /serials/assign. The API takes up to 100000 per call, but the body limit
// (max_body_bytes, 1 MiB by default) is reached first, and the service writes 1000 per
// store transaction: a chunk of 1000 (about 40 KB) is one transaction, and the bar moves.
export const CHUNK = 1000;
const MAX_SERIAL_LENGTH = 128;

// The serial numbers of a pasted text or file, split as the New Request dialog splits them
// (line breaks, commas, semicolons, white space; a header line skipped): {serials (first
// occurrence order), duplicates, tooLong}.
export function serialList(text) {
  const seen = new Set();
  const serials = [];
  let duplicates = 0;
  const tooLong = [];
  for (const s of parseSerials(text)) {
    if (s.length > MAX_SERIAL_LENGTH) {
      tooLong.push(s);
    } else if (seen.has(s)) {
      duplicates += 1;
    } else {
      seen.add(s);
      serials.push(s);
    }
  }
  return {serials, duplicates, tooLong};
}

function assignSection(ctx, orgSelect) {
  const {api} = ctx;
  const status = statusLine('assign-status');
  const text = el('textarea', {
    name: 'serials', rows: '8', spellcheck: 'false', 'data-testid': 'assign-serials',
    placeholder: 'SN-0001\nSN-0002\n…',
  });
  const file = el('input', {type: 'file', accept: '.txt,.csv,text/plain,text/csv', 'data-testid': 'assign-file'});
  const count = el('p', {class: 'hint', 'aria-live': 'polite', 'data-testid': 'assign-count'}, 'No serial numbers yet.');
  const reassign = el('input', {type: 'checkbox', name: 'reassign', id: 'assign-reassign', 'data-testid': 'assign-reassign'});
  const progress = el('progress', {max: '1', value: '0', hidden: true, 'data-testid': 'assign-progress', 'aria-label': 'Serial numbers sent'});
  const progressText = el('span', {class: 'hint', 'aria-live': 'polite', 'data-testid': 'assign-progress-text'});
  const send = el('button', {type: 'submit', class: 'primary', 'data-testid': 'assign-submit'}, 'Assign serial numbers');

  function recount() {
    const {serials, duplicates, tooLong} = serialList(text.value);
    const parts = [`${serials.length} serial number${serials.length === 1 ? '' : 's'}`];
    if (duplicates) parts.push(`${duplicates} duplicate${duplicates === 1 ? '' : 's'} left out`);
    if (tooLong.length) parts.push(`${tooLong.length} longer than ${MAX_SERIAL_LENGTH} characters left out`);
    count.textContent = `${parts.join('; ')}.`;
    return serials;
  }
  text.addEventListener('input', recount);
  file.addEventListener('change', async () => {
    text.value = await fileText(file);
    recount();
  });

  const fields = {
    organization_id: field('Organization', orgSelect),
    serials: field('Serial numbers', text, 'One per line (commas and spaces also separate them).'),
  };
  const form = el('form', {class: 'stacked-form', 'aria-label': 'Assign serial numbers'},
    fields.organization_id, fields.serials,
    field('Or a file of serial numbers', file),
    count,
    el('div', {class: 'check'}, reassign, el('label', {for: reassign.id},
      'Move serial numbers that belong to another organization (their vouchers there become superseded)')),
    el('div', {class: 'form-actions'}, send),
    el('div', {class: 'assign-progress'}, progress, progressText));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const serials = recount();
    const organization = orgSelect.value;
    if (!organization) {
      fields.organization_id.setError('Pick the organization that receives the serial numbers.');
      return;
    }
    if (serials.length === 0) {
      fields.serials.setError('Paste some, or pick a file.');
      text.focus();
      return;
    }
    progress.hidden = false;
    progress.max = serials.length;
    progress.value = 0;
    let assigned = 0;
    let unchanged = 0;
    await busy(send, status, async () => {
      for (let i = 0; i < serials.length; i += CHUNK) {
        const chunk = serials.slice(i, i + CHUNK);
        try {
          const r = await api('POST', '/serials/assign', {
            organization_id: organization, reassign: reassign.checked,
            serials: chunk.map((s) => ({serial_number: s})),
          });
          assigned += r.assigned;
          unchanged += r.unchanged;
        } catch (err) {
          // "serials[3].mac_addr: ..." counts within the chunk: name the serial instead.
          const detail = (err.detail || err.title || '').replace(/^serials\[(\d+)\]/,
            (m, k) => `serial number ${chunk[Number(k)] || k}`);
          err.detail = `${detail} (${i} of ${serials.length} serial numbers were sent before this error: ${assigned} assigned, ${unchanged} already there; none after it.)`;
          throw err;
        }
        progress.value = i + chunk.length;
        progressText.textContent = `${i + chunk.length} of ${serials.length} sent`;
      }
      status.message(`${serials.length} serial numbers sent to ${organization}: ${assigned} assigned, ${unchanged} already there.`);
    }, fields);
  });

  return section('Assign serial numbers', 'assign-section', form, status.node);
}

function vouchersView(api, organization) {
  const status = statusLine('org-vouchers-status');
  const list = el('div', {'data-testid': 'org-vouchers'});
  const more = el('button', {type: 'button', hidden: true, 'data-testid': 'org-vouchers-more'}, 'More vouchers');
  const rows = [];
  let total = 0;
  let nextToken = null;

  function draw() {
    list.replaceChildren(dataTable(`Vouchers of ${organization} (${rows.length} of ${total})`,
      ['Serial Number', 'Requested By', 'Requested', 'Expires', 'Assertion', 'Status', 'Request ID', 'Voucher ID', 'PDC Organization'],
      rows.map((v) => ({
        testid: `org-voucher-${v.serial_number}`,
        cells: [v.serial_number, v.requested_by, time(v.requested_at), time(v.expires_at), v.assertion,
          badge(v.status), idCell(v.req_id),
          el('a', {href: `#/voucher/${encodeURIComponent(v.voucher_id)}`}, v.voucher_id), v.pdc_organization],
      })), {testid: 'org-vouchers-table', empty: 'No vouchers.', showCaption: true}));
    more.hidden = !nextToken;
  }

  async function page() {
    const q = new URLSearchParams({organization_id: organization, sort: 'requested_at', order: 'desc', page_size: '50'});
    if (nextToken) q.set('page_token', nextToken);
    const r = await api('GET', `/vouchers?${q}`);
    rows.push(...r.vouchers);
    total = r.total;
    nextToken = r.next_page_token;
    draw();
  }
  more.addEventListener('click', () => busy(more, status, page));
  const node = el('div', {}, list, more, status.node);
  return {node, load: () => busy(more, status, page)};
}

// The newest entries of the organization's audit log, newest first. GET /audit reads
// forward from a sequence number (and scans at most 100000 entries a call), so the view
// pages forward to the end, keeping only the last SHOWN entries; a call that makes no
// progress is the end of the log.
const SHOWN = 100;
const MAX_AUDIT_CALLS = 200;

function auditView(api, organization) {
  const status = statusLine('org-audit-status');
  const list = el('div', {'data-testid': 'org-audit'});
  const note = el('p', {class: 'hint', 'aria-live': 'polite', 'data-testid': 'org-audit-note'});
  const refresh = el('button', {type: 'button', 'data-testid': 'org-audit-refresh'}, 'Refresh');

  async function load() {
    const kept = [];
    let from = 0;
    let calls = 0;
    for (; calls < MAX_AUDIT_CALLS; calls += 1) {
      const q = new URLSearchParams({organization_id: organization, from: String(from), limit: '1000'});
      const r = await api('GET', `/audit?${q}`);
      kept.push(...r.entries);
      if (kept.length > SHOWN) kept.splice(0, kept.length - SHOWN);
      if (r.next_seq <= from) break;
      from = r.next_seq;
      note.textContent = `Reading the log: ${from} entries so far…`;
    }
    kept.reverse();
    list.replaceChildren(dataTable(`Audit log of ${organization}: the newest ${kept.length} entries, newest first`,
      ['#', 'Time', 'Actor', 'Action', 'Target', 'Outcome'],
      kept.map((e) => [String(e.seq), time(e.time), e.actor, e.action, e.target, e.outcome]),
      {testid: 'org-audit-table', empty: 'No entries.', showCaption: true}));
    note.textContent = calls < MAX_AUDIT_CALLS
      ? `Read to the end of the log (${from} entries, of every organization).`
      : `Read the first ${from} entries of a longer log; GET /audit pages on from there.`;
  }
  refresh.addEventListener('click', () => busy(refresh, status, load));
  const node = el('div', {}, el('div', {class: 'row'}, note, refresh), list, status.node);
  return {node, load: () => busy(refresh, status, load)};
}

function browseSection(ctx, orgSelect) {
  const {api, params} = ctx;
  const view = select([['vouchers', 'Vouchers'], ['audit', 'Audit log']], {name: 'view', 'data-testid': 'browse-view'});
  if (params && params.get('view') === 'audit') view.value = 'audit';
  const show = el('button', {type: 'submit', class: 'primary', 'data-testid': 'browse-show'}, 'Show');
  const out = el('div', {'data-testid': 'browse-result'});
  const form = el('form', {class: 'inline-form', 'aria-label': 'Browse an organization'},
    field('Organization', orgSelect), field('What', view), el('div', {class: 'form-actions'}, show));

  async function browse() {
    const organization = orgSelect.value;
    if (!organization) return;
    const v = view.value === 'audit' ? auditView(api, organization) : vouchersView(api, organization);
    out.replaceChildren(v.node);
    await v.load();
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    show.disabled = true;
    try {
      await browse();
    } finally {
      show.disabled = false;
    }
  });
  return {node: section('Browse an organization', 'browse-section', form, out), browse};
}

export async function render(main, ctx) {
  const {api, params} = ctx;
  pageFrame(main, 'Account team',
    'Assign serial numbers to customer organizations and look into any organization\'s vouchers and audit log.');
  const status = statusLine('account-team-status');
  main.append(status.node);
  let organizations = [];
  try {
    organizations = (await api('GET', '/organizations')).organizations;
  } catch (err) {
    status.error(err);
  }
  const options = organizations.map((o) => [o.organization_id, `${o.name} (${o.organization_id})`]);
  const assignOrg = select(options, {name: 'organization_id', 'data-testid': 'assign-organization'});
  const browseOrg = select(options, {name: 'organization_id', 'data-testid': 'browse-organization'});
  const wanted = params && params.get('org');
  if (wanted) {
    assignOrg.value = wanted;
    browseOrg.value = wanted;
  }

  const browse = browseSection(ctx, browseOrg);
  const orgTable = dataTable('Organizations', ['Name', 'Organization ID', 'Created', 'Look into'],
    organizations.map((o) => ({
      testid: `org-${o.organization_id}`,
      cells: [o.name, idCell(o.organization_id), time(o.created_at), el('span', {class: 'row-actions'},
        ...['vouchers', 'audit'].map((what) => el('button', {
          type: 'button', 'data-testid': `browse-${what}-${o.organization_id}`,
          'aria-label': `${what === 'audit' ? 'Audit log' : 'Vouchers'} of ${o.name}`,
          onclick: async () => {
            browseOrg.value = o.organization_id;
            browse.node.querySelector('select[name="view"]').value = what;
            await browse.browse();
            browse.node.scrollIntoView();
          },
        }, what === 'audit' ? 'Audit log' : 'Vouchers')))],
    })), {testid: 'organizations-table', empty: 'No organizations.'});

  if (ctx.can('assign-serials')) main.append(assignSection(ctx, assignOrg));
  main.append(section('Organizations', 'organizations-section', orgTable), browse.node);
  if (wanted) await browse.browse();
}
