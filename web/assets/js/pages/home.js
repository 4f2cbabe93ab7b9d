// Home: the organization's recent requests and vouchers (GET /vouchers): filter, sort on
// any column, group by a column, page; download a voucher or a whole request, regenerate,
// archive; the New Request dialog. Every control appears only when the person's
// permissions allow it; the service decides each call all the same.
//
// The table's state lives in the hash (#/home?status=...&sort=...), so a reload or a
// shared link shows the same view; it is rewritten with replaceState, which re-renders
// nothing.
import {query} from '../api.js';
import {badge, confirmDialog, el, field, messageOf, replace, saveFile, table, time, uid} from '../dom.js';
import {openNewRequest} from '../new-request.js';

// The table's columns in the documented order; `sort` is the API's column name.
const COLUMNS = [
  {key: 'serial_number', label: 'Serial Number'},
  {key: 'requested_by', label: 'Requested By'},
  {key: 'requested_at', label: 'Requested'},
  {key: 'expires_at', label: 'Expires'},
  {key: 'assertion', label: 'Assertion'},
  {key: 'status', label: 'Status'},
  {key: 'req_id', label: 'Request ID'},
  {key: 'voucher_id', label: 'Voucher ID'},
  {key: 'pdc_organization', label: 'PDC Organization'},
];
const LABEL = Object.fromEntries(COLUMNS.map((c) => [c.key, c.label]));
// What the text filter can match (exactly: the API filters on whole values).
const FILTER_FIELDS = ['serial_number', 'req_id', 'requested_by', 'pdc_organization', 'assertion'];
const STATUSES = ['completed', 'expired', 'archived', 'superseded'];
const PAGE_SIZES = [10, 25, 50, 100];
const TIME_COLUMNS = new Set(['requested_at', 'expires_at']);

export async function render(main, ctx) {
  const p = ctx.params;
  const state = {
    field: FILTER_FIELDS.includes(p.get('in')) ? p.get('in') : 'serial_number',
    text: p.get('q') || '',
    status: STATUSES.includes(p.get('status')) ? p.get('status') : '',
    group: LABEL[p.get('group')] ? p.get('group') : '',
    sort: LABEL[p.get('sort')] ? p.get('sort') : 'requested_at',
    descending: p.get('order') !== 'asc',
    size: PAGE_SIZES.includes(Number(p.get('size'))) ? Number(p.get('size')) : 25,
    tokens: [''],  // tokens[i]: the page_token of page i (page 0 has none)
    page: 0,
    highlight: new Set(),
    loaded: null,  // the last GET /vouchers answer
  };
  const canRequest = ctx.can('request');
  const canDownload = ctx.can('download');
  const canArchive = ctx.can('archive');

  // ---- header -------------------------------------------------------------------------
  const requestDownload = el('button', {type: 'button', hidden: true, 'data-testid': 'download-request',
    text: 'Download request', onclick: () => downloadRequest(state.text)});
  const newRequest = canRequest
    ? el('button', {type: 'button', class: 'primary', 'data-testid': 'new-request', text: 'New request',
      onclick: () => openNewRequest(ctx, {onIssued})})
    : null;
  main.append(el('div', {class: 'page-header'},
    el('div', {},
      el('h1', {text: 'Requests and vouchers'}),
      el('p', {class: 'muted', text: ctx.profile.vendor
        ? 'Vouchers of every organization you may view, newest first.'
        : `Vouchers of ${ctx.profile.organization_id}, newest first.`})),
    el('div', {class: 'row'}, requestDownload, newRequest)));

  // ---- toolbar ------------------------------------------------------------------------
  const fieldSelect = el('select', {'data-testid': 'filter-field'},
    FILTER_FIELDS.map((f) => el('option', {value: f, text: LABEL[f], selected: f === state.field})));
  const textInput = el('input', {type: 'search', value: state.text, 'data-testid': 'filter-text',
    placeholder: 'Exact value', autocomplete: 'off', spellcheck: 'false'});
  const statusSelect = el('select', {'data-testid': 'filter-status'},
    el('option', {value: '', text: 'Any status'}),
    STATUSES.map((s) => el('option', {value: s, text: s, selected: s === state.status})));
  const groupSelect = el('select', {'data-testid': 'group-by'},
    el('option', {value: '', text: 'No grouping'}),
    COLUMNS.map((c) => el('option', {value: c.key, text: c.label, selected: c.key === state.group})));
  const toolbar = el('form', {class: 'toolbar', role: 'search', 'aria-label': 'Filter vouchers'},
    field('Search in', fieldSelect).wrapper,
    field('Filter', textInput).wrapper,
    field('Status', statusSelect).wrapper,
    field('Group by', groupSelect).wrapper,
    el('div', {class: 'row'},
      el('button', {type: 'submit', 'data-testid': 'filter-apply', text: 'Apply'}),
      el('button', {type: 'button', class: 'quiet', 'data-testid': 'filter-clear', text: 'Clear',
        onclick: () => {
          textInput.value = '';
          statusSelect.value = '';
          groupSelect.value = '';
          applyFilters();
        }})));
  toolbar.addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilters();
  });
  statusSelect.addEventListener('change', applyFilters);
  groupSelect.addEventListener('change', applyFilters);
  textInput.addEventListener('search', applyFilters);  // the field's own clear button
  main.append(toolbar);

  function applyFilters() {
    state.field = fieldSelect.value;
    state.text = textInput.value.trim();
    state.status = statusSelect.value;
    state.group = groupSelect.value;
    state.highlight.clear();
    firstPage();
  }

  // ---- table and pager ----------------------------------------------------------------
  const summary = el('p', {role: 'status', 'data-testid': 'table-summary', class: 'summary'});
  const sizeSelect = el('select', {'data-testid': 'page-size'},
    PAGE_SIZES.map((n) => el('option', {value: n, text: String(n), selected: n === state.size})));
  sizeSelect.addEventListener('change', () => {
    state.size = Number(sizeSelect.value);
    firstPage();
  });
  const prev = el('button', {type: 'button', class: 'small', 'data-testid': 'page-prev', text: '‹ Previous',
    onclick: () => { state.page -= 1; load(); }});
  const next = el('button', {type: 'button', class: 'small', 'data-testid': 'page-next', text: 'Next ›',
    onclick: () => { state.page += 1; load(); }});
  const pageLabel = el('span', {'data-testid': 'page-number'});
  const sizeId = uid('size');
  sizeSelect.id = sizeId;
  const pager = el('nav', {class: 'pager', 'aria-label': 'Pages'},
    summary,
    el('div', {class: 'row'},
      el('label', {for: sizeId, text: 'Rows per page'}), sizeSelect,
      prev, pageLabel, next));
  const wrap = el('div', {class: 'table-wrap'});
  main.append(pager, wrap);

  function firstPage() {
    state.tokens = [''];
    state.page = 0;
    load();
  }

  function saveState() {
    const q = query({
      in: state.text ? state.field : '', q: state.text, status: state.status, group: state.group,
      sort: state.sort === 'requested_at' ? '' : state.sort, order: state.descending ? '' : 'asc',
      size: state.size === 25 ? '' : state.size,
    });
    // Only while the home page is still the one shown: a load that finishes after the
    // person moved on must not pull the address back to home.
    if (!location.hash.startsWith('#/home') && !['', '#', '#/'].includes(location.hash)) return;
    history.replaceState(null, '', `#/home${q}`);
  }

  let loadCount = 0;
  async function load() {
    saveState();
    requestDownload.hidden = !(canDownload && state.field === 'req_id' && state.text);
    const mine = ++loadCount;
    wrap.setAttribute('aria-busy', 'true');
    wrap.classList.add('busy');
    const params = {
      page_size: state.size,
      page_token: state.tokens[state.page],
      sort: state.sort,
      order: state.descending ? 'desc' : 'asc',
      group_by: state.group,
      status: state.status,
    };
    if (state.text) params[state.field] = state.text;
    let answer;
    try {
      answer = await ctx.api('GET', `/vouchers${query(params)}`);
    } catch (e) {
      if (mine !== loadCount) return;
      wrap.removeAttribute('aria-busy');
      wrap.classList.remove('busy');
      replace(wrap, el('p', {class: 'form-error', role: 'alert', 'data-testid': 'table-error',
        text: e.field && e.status === 400 ? `${LABEL[e.field] || e.field}: ${messageOf(e)}` : messageOf(e)}));
      summary.textContent = '';
      return;
    }
    if (mine !== loadCount) return;
    state.loaded = answer;
    state.tokens[state.page + 1] = answer.next_page_token || null;
    draw();
  }

  function draw() {
    const answer = state.loaded;
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.testid : '';
    const rows = answer.vouchers;
    const from = state.page * state.size;
    summary.textContent = answer.total === 0
      ? (state.text || state.status ? 'No vouchers match.' : 'No vouchers.')
      : `Showing ${from + 1}–${from + rows.length} of ${answer.total} voucher${answer.total === 1 ? '' : 's'}`;
    prev.disabled = state.page === 0;
    next.disabled = !answer.next_page_token;
    const pages = Math.max(1, Math.ceil(answer.total / state.size));
    pageLabel.textContent = `Page ${state.page + 1} of ${pages}`;
    const counts = new Map((answer.groups || []).map((g) => [g.value, g.count]));
    const columns = COLUMNS.map((c) => ({
      sort: c.key,
      label: c.label,
      className: c.key === 'req_id' || c.key === 'voucher_id' ? 'id' : null,
      header: c.key === 'serial_number',
      cell: (v) => cell(v, c.key),
    }));
    if (canDownload || canRequest || canArchive) {
      columns.push({label: 'Actions', className: 'actions-cell', cell: actions});
    }
    const t = table({
      columns,
      rows,
      caption: 'Vouchers',
      sortKey: state.sort,
      descending: state.descending,
      testid: 'vouchers',
      empty: state.text || state.status
        ? 'No vouchers match these filters.'
        : canRequest ? 'No vouchers yet. Use “New request” to request the first ones.' : 'No vouchers yet.',
      onSort: (key) => {
        if (state.sort === key) {
          state.descending = !state.descending;
        } else {
          state.sort = key;
          state.descending = TIME_COLUMNS.has(key);
        }
        firstPage();
      },
      rowClass: (v) => (state.highlight.has(v.voucher_id) ? 'highlight' : null),
      groupOf: state.group ? (v) => groupOf(v, counts) : null,
    });
    // Rows say which voucher they show, for people (the header cell) and for tests.
    const bodyRows = t.querySelectorAll('tbody tr:not(.group-row):not(.empty-row)');
    bodyRows.forEach((tr, i) => {
      tr.dataset.voucherId = rows[i].voucher_id;
      tr.dataset.serial = rows[i].serial_number;
      tr.dataset.status = rows[i].status;
      tr.dataset.testid = 'voucher-row';
    });
    replace(wrap, t);
    wrap.removeAttribute('aria-busy');
    wrap.classList.remove('busy');
    if (focused && focused.startsWith('sort-')) {
      const again = wrap.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus();
    }
  }

  function cell(v, key) {
    switch (key) {
      case 'requested_at':
      case 'expires_at':
        return time(v[key]);
      case 'status':
        return badge(v.status);
      case 'req_id':
        return el('button', {type: 'button', class: 'link mono', title: `Show only request ${v.req_id}`,
          'aria-label': `Show only request ${v.req_id}`, text: short(v.req_id),
          onclick: () => {
            fieldSelect.value = 'req_id';
            textInput.value = v.req_id;
            applyFilters();
          }});
      case 'voucher_id':
        return el('a', {href: `#/voucher/${encodeURIComponent(v.voucher_id)}`, title: v.voucher_id,
          'aria-label': `Voucher ${v.voucher_id} details`, 'data-testid': 'voucher-link', text: short(v.voucher_id)});
      default:
        return v[key] ? String(v[key]) : el('span', {class: 'muted', text: '—'});
    }
  }

  function groupOf(v, counts) {
    const value = v[state.group] === null || v[state.group] === undefined ? '' : String(v[state.group]);
    const count = counts.get(value);
    const shown = TIME_COLUMNS.has(state.group) && value ? time(value) : (value || '(none)');
    const label = el('div', {class: 'row'},
      el('span', {}, `${LABEL[state.group]}: `, shown,
        count !== undefined ? el('span', {class: 'muted', text: ` · ${count} voucher${count === 1 ? '' : 's'}`}) : null));
    if (state.group === 'req_id' && canDownload && value) {
      label.append(el('button', {type: 'button', class: 'small', 'data-testid': 'group-download',
        text: 'Download request', onclick: () => downloadRequest(value)}));
    }
    return {key: value, label};
  }

  function actions(v) {
    const out = [];
    const what = `voucher for ${v.serial_number}`;
    if (canDownload) {
      out.push(el('button', {type: 'button', class: 'small', 'data-testid': 'download',
        'aria-label': `Download ${what}`, text: 'Download', onclick: (e) => download(v, e.currentTarget)}));
    }
    if (canRequest && v.status !== 'archived' && v.status !== 'superseded') {
      out.push(el('button', {type: 'button', class: 'small', 'data-testid': 'regenerate',
        'aria-label': `Regenerate ${what}`, text: 'Regenerate', onclick: (e) => regenerate(v, e.currentTarget)}));
    }
    if (canArchive && v.status !== 'archived') {
      out.push(el('button', {type: 'button', class: 'small danger-outline', 'data-testid': 'archive',
        'aria-label': `Archive ${what}`, text: 'Archive', onclick: () => archive(v)}));
    }
    return el('div', {class: 'action-list'}, out);
  }

  // ---- actions ------------------------------------------------------------------------
  async function download(v, button) {
    button.disabled = true;
    try {
      const file = await ctx.apiBlob(`/voucher/${encodeURIComponent(v.voucher_id)}/download`, `${v.serial_number}.vcj`);
      saveFile(file);
    } catch (e) {
      ctx.toast(`The voucher for ${v.serial_number} could not be downloaded: ${messageOf(e)}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async function downloadRequest(reqId) {
    try {
      const file = await ctx.apiBlob(`/request/${encodeURIComponent(reqId)}/download`, `${reqId}.tar`);
      saveFile(file);
    } catch (e) {
      ctx.toast(`Request ${reqId} could not be downloaded: ${messageOf(e)}`, 'error');
    }
  }

  async function regenerate(v, button) {
    button.disabled = true;
    try {
      const result = await ctx.api('POST', `/voucher/${encodeURIComponent(v.voucher_id)}/renew`, {});
      const renewed = (result.vouchers || []).filter((s) => s.status === 'completed');
      state.highlight = new Set(renewed.map((s) => s.voucher_id));
      ctx.toast(`The voucher for ${v.serial_number} was regenerated.`, 'success');
      await load();
    } catch (e) {
      button.disabled = false;
      ctx.toast(`The voucher for ${v.serial_number} could not be regenerated: ${messageOf(e)}`, 'error');
    }
  }

  async function archive(v) {
    const yes = await confirmDialog({
      title: 'Archive voucher',
      message: `Archive the voucher for ${v.serial_number}? It stays downloadable and in the audit log, but can no longer be regenerated.`,
      confirm: 'Archive', danger: true, testid: 'confirm-archive',
    });
    if (!yes) return;
    try {
      await ctx.api('POST', `/voucher/${encodeURIComponent(v.voucher_id)}/archive`);
      state.highlight = new Set([v.voucher_id]);
      ctx.toast(`The voucher for ${v.serial_number} was archived.`, 'success');
      await load();
    } catch (e) {
      ctx.toast(`The voucher for ${v.serial_number} could not be archived: ${messageOf(e)}`, 'error');
    }
  }

  // New vouchers: show them on the first page, newest first, whatever the filters hid.
  function onIssued(result) {
    state.highlight = new Set((result.vouchers || []).filter((s) => s.voucher_id).map((s) => s.voucher_id));
    textInput.value = '';
    statusSelect.value = '';
    state.text = '';
    state.status = '';
    state.sort = 'requested_at';
    state.descending = true;
    firstPage();
  }

  await load();
}

// The end of a long id: UUIDv7 ids of one moment share their beginning (the time), so
// their last digits tell them apart.
function short(id) {
  return id && id.length > 13 ? `…${id.slice(-8)}` : id || '';
}
