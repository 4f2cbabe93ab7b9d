// Small DOM helpers. Text goes in with textContent only: nothing is ever parsed as HTML,
// so whatever the API answers (names, serial numbers, error details) cannot become markup.

// el('button', {class: 'primary', onclick: f, 'data-testid': 'x'}, 'Save'): an element.
// Attributes: `class`, `text` (textContent), `on<event>` (a listener), `dataset`,
// boolean properties (hidden, disabled, checked, required, selected, multiple, open,
// readOnly), `value`, `htmlFor`/`for`; anything else is setAttribute (aria-*, data-*, id,
// type, ...). Children: nodes, strings (text nodes), numbers, arrays; null, undefined and
// false are left out.
const PROPERTIES = new Set(['hidden', 'disabled', 'checked', 'required', 'selected', 'multiple',
  'open', 'readOnly', 'value', 'indeterminate']);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') {
      if (value) node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'text') {
      node.textContent = String(value);
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'for' || key === 'htmlFor') {
      node.htmlFor = value;
    } else if (PROPERTIES.has(key)) {
      node[key] = value;
    } else if (value === false) {
      continue;
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(node, children);
  return node;
}

// Appends children as el() takes them.
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Removes every child of `node` and appends `children`.
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let nextId = 0;
// A document-unique id with `prefix`.
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled form field: {wrapper, input, error, setError(message), hint}. `input` is the
// control (made by the caller); the label names it, the hint and the error describe it
// (aria-describedby), and setError marks it aria-invalid. `control`, when given, is what
// the wrapper shows in the input's place (a node that holds the input, e.g. a drop zone).
export function field(label, input, {hint = '', testid = '', extra = null, control = null} = {}) {
  if (!input.id) input.id = uid('f');
  const hintNode = hint ? el('p', {class: 'hint', id: uid('hint'), text: hint}) : null;
  const error = el('p', {class: 'field-error', id: uid('err'), hidden: true,
    'data-testid': testid ? `${testid}-error` : null});
  const describedBy = [hintNode && hintNode.id, error.id].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', describedBy);
  const wrapper = el('div', {class: 'field'},
    el('label', {for: input.id, text: label}), hintNode, control || input, extra, error);
  const setError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
    if (message) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
    wrapper.classList.toggle('invalid', Boolean(message));
  };
  return {wrapper, input, error, hint: hintNode, setError};
}

// A table: columns [{key, label, sort (API column name or null), className, cell(row) ->
// node|string}], rows, and optional {caption, sortKey, descending, onSort(key),
// rowClass(row), groupOf(row) -> {key, label node|string} | null, testid}. Sortable
// headers are buttons; the sorted one carries aria-sort. Rows of one group follow a
// header row (th scope=rowgroup) that names it, in a tbody of their own.
export function table({columns, rows, caption = '', sortKey = '', descending = true, onSort = null,
  rowClass = null, groupOf = null, testid = 'table', empty = 'Nothing to show.'}) {
  const head = el('tr', {}, columns.map((c) => {
    const sorted = c.sort && c.sort === sortKey;
    const th = el('th', {scope: 'col', class: c.className,
      'aria-sort': c.sort ? (sorted ? (descending ? 'descending' : 'ascending') : 'none') : null});
    if (c.sort && onSort) {
      th.append(el('button', {type: 'button', class: 'sort', 'data-testid': `sort-${c.sort}`,
        onclick: () => onSort(c.sort)},
      c.label, el('span', {class: 'sort-mark', 'aria-hidden': 'true',
        text: sorted ? (descending ? '▼' : '▲') : '↕'})));
    } else {
      th.textContent = c.label;
    }
    return th;
  }));
  // One tbody per group, its first row a header (th scope=rowgroup) naming it.
  const bodies = [];
  let body = el('tbody');
  bodies.push(body);
  let group = null;
  for (const row of rows) {
    const g = groupOf ? groupOf(row) : null;
    if (g && (group === null || g.key !== group)) {
      group = g.key;
      if (body.childElementCount) {
        body = el('tbody');
        bodies.push(body);
      }
      body.append(el('tr', {class: 'group-row', 'data-testid': 'group-row'},
        el('th', {scope: 'rowgroup', colspan: columns.length}, g.label)));
    }
    body.append(el('tr', {class: rowClass ? rowClass(row) : null},
      columns.map((c) => el(c.header ? 'th' : 'td', {class: c.className, scope: c.header ? 'row' : null},
        c.cell(row)))));
  }
  if (!rows.length) {
    body.append(el('tr', {class: 'empty-row'}, el('td', {colspan: columns.length, text: empty})));
  }
  return el('table', {class: 'data', 'data-testid': testid},
    caption ? el('caption', {class: 'visually-hidden', text: caption}) : null,
    el('thead', {}, head), bodies);
}

// A modal <dialog> with a title, body nodes and footer actions, appended to the body and
// shown. Escape and the close button close it; closing removes it and returns focus to
// what had it. {dialog, body, footer, close()}.
export function dialog({title, body = [], actions = [], testid = 'dialog', wide = false, onClose = null}) {
  const opener = document.activeElement;
  const titleId = uid('dlg-title');
  const bodyNode = el('div', {class: 'dialog-body'}, body);
  const footer = el('div', {class: 'dialog-footer'}, actions);
  const node = el('dialog', {class: wide ? 'wide' : null, 'aria-labelledby': titleId, 'data-testid': testid},
    el('div', {class: 'dialog-header'},
      el('h2', {id: titleId, text: title}),
      el('button', {type: 'button', class: 'icon-button', 'aria-label': 'Close',
        'data-testid': `${testid}-close`, text: '×', onclick: () => close()})),
    bodyNode, footer);
  let closed = false;
  function close() {
    if (closed) return;
    closed = true;
    if (node.open) node.close();
    node.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }
  node.addEventListener('close', close);
  document.body.append(node);
  node.showModal();
  const first = bodyNode.querySelector('input:not([type=hidden]):not([disabled]), select, textarea, button');
  if (first) first.focus();
  return {dialog: node, body: bodyNode, footer, close};
}

// Asks a yes/no question in a dialog; resolves true when confirmed.
export function confirmDialog({title, message, confirm = 'Confirm', danger = false, testid = 'confirm'}) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = el('button', {type: 'button', class: danger ? 'danger' : 'primary',
      'data-testid': `${testid}-yes`, text: confirm, onclick: () => { answer = true; d.close(); }});
    const no = el('button', {type: 'button', 'data-testid': `${testid}-no`, text: 'Cancel',
      onclick: () => d.close()});
    const d = dialog({title, body: [el('p', {text: message})], actions: [no, yes], testid,
      onClose: () => resolve(answer)});
    yes.focus();
  });
}

// A short message in the corner that goes away by itself ('info', 'success', 'error').
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = el('div', {class: `toast ${kind}`, 'data-testid': 'toast', role: kind === 'error' ? 'alert' : null},
    el('span', {text: message}),
    el('button', {type: 'button', class: 'icon-button', 'aria-label': 'Dismiss', text: '×',
      onclick: () => item.remove()}));
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12000 : 6000);
}

// An RFC 3339 time as a <time> element: local date and time, the exact instant in title.
export function time(value) {
  if (!value) return el('span', {class: 'muted', text: '—'});
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return el('span', {text: value});
  const [day, hour] = formatTime(d).split(' ');
  // Day and hour may go on two lines of a narrow column, each whole.
  return el('time', {datetime: value, title: d.toISOString()},
    el('span', {class: 'nowrap', text: day}), ' ', el('span', {class: 'nowrap', text: hour}));
}

// Local time as 2026-11-29 18:19: short, sortable by eye, the same in every locale.
export function formatTime(value) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

// Saves `file` (a File or Blob) as a download named `name`.
export function saveFile(file, name = file.name || 'download') {
  const url = URL.createObjectURL(file);
  const a = el('a', {href: url, download: name, hidden: true});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// A status badge.
export function badge(text, kind = text) {
  return el('span', {class: `badge badge-${String(kind).replace(/[^a-z0-9-]/gi, '')}`, text});
}

// Reads a File as text (UTF-8).
export function readText(file) {
  return file.text();
}

// The message to show for an error thrown by api().
export function messageOf(error) {
  if (error && error.detail) return error.detail;
  if (error && error.message) return error.message;
  return String(error);
}
