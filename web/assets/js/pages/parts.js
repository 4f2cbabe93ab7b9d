// What the settings, admin, account-team and keys pages share, built on dom.js: forms whose
// API errors appear beside the field they concern (or under the form), tables whose rows
// tests can name, a confirmation before anything destructive, and the one-time display of
// a new token's secret. Every text from the API goes in with textContent (or an input's
// value), never as HTML.
import {el, uid, field as domField, dialog, confirmDialog, time, formatTime, messageOf, badge} from '../dom.js';

export {el, time, uid, badge, formatTime, messageOf};

// A labelled control (dom.js field): the wrapper node, with setError(message) on it, so a
// form can show an API error beside the field it names.
export function field(label, control, hint) {
  const f = domField(label, control, {hint: hint || '', testid: control.dataset.testid || ''});
  f.wrapper.setError = f.setError;
  return f.wrapper;
}

// A <select> of [value, text] pairs (or plain strings).
export function select(options, props = {}) {
  const node = el('select', props);
  setOptions(node, options);
  return node;
}

export function setOptions(selectNode, options) {
  const keep = selectNode.value;
  selectNode.replaceChildren(...options.map((o) => {
    const [value, text] = Array.isArray(o) ? o : [o, o];
    return el('option', {value}, text);
  }));
  if ([...selectNode.options].some((o) => o.value === keep)) selectNode.value = keep;
}

// A card of the page: <section aria-labelledby><h2>title</h2>...</section>.
export function section(title, testid, ...children) {
  const heading = el('h2', {id: uid('h')}, title);
  return el('section', {class: 'card admin-section', 'aria-labelledby': heading.id, 'data-testid': testid},
    heading, ...children);
}

// A table with a caption, column headers (scope=col) and rows; a row is an array of cells
// (nodes or strings) or {testid, cells}. A row's first cell is its header (scope=row). The
// caption is for screen readers only (the section's heading says it) unless showCaption.
export function dataTable(caption, headers, rows, {testid, empty = 'None yet.', showCaption = false} = {}) {
  const body = el('tbody');
  for (const row of rows) {
    const cells = row.cells || row;
    body.append(el('tr', {'data-testid': row.testid || null},
      cells.map((cell, i) => el(i === 0 ? 'th' : 'td', {scope: i === 0 ? 'row' : null}, cell))));
  }
  if (rows.length === 0) {
    body.append(el('tr', {class: 'empty-row'}, el('td', {colspan: headers.length}, empty)));
  }
  return el('div', {class: 'table-wrap'},
    el('table', {class: 'data', 'data-testid': testid || null},
      el('caption', {class: showCaption ? null : 'visually-hidden'}, caption),
      el('thead', {}, el('tr', {}, headers.map((t) => el('th', {scope: 'col'}, t)))),
      body));
}


// A live line under a form for its outcome: message(text), error(err), clear().
export function statusLine(testid) {
  const node = el('p', {class: 'form-status', role: 'status', 'aria-live': 'polite', 'data-testid': testid});
  const set = (text, kind) => {
    node.classList.toggle('error-text', kind === 'error');
    node.classList.toggle('success-text', kind === 'ok');
    node.textContent = text;
  };
  return {
    node,
    message: (text) => set(text, 'ok'),
    error: (err) => set(messageOf(err), 'error'),
    clear: () => set('', ''),
  };
}

// Runs `fn` with `button` disabled meanwhile. An error lands beside the field it names
// (`fields`: API member name -> a wrapper from field()), else in `status`; it is not
// thrown. Answers fn's result, or undefined after an error.
export async function busy(button, status, fn, fields = {}) {
  button.disabled = true;
  if (status) status.clear();
  for (const f of Object.values(fields)) f.setError('');
  try {
    return await fn();
  } catch (err) {
    const f = err && err.field ? fields[err.field] : null;
    if (f) {
      f.setError(messageOf(err));
    } else if (status) {
      status.error(err);
    }
    return undefined;
  } finally {
    button.disabled = false;
  }
}

// Asks before something that cannot be undone; answers true when confirmed.
export function confirmAction(question, confirmLabel) {
  return confirmDialog({title: `${confirmLabel}?`, message: question, confirm: confirmLabel, danger: true,
    testid: 'confirm'});
}

// Shows a new token's secret once, in a modal dialog with a copy button and the warning
// that it will not be shown again; the secret leaves the page when the dialog closes.
// Resolves when it is closed.
export function showSecretOnce(title, token) {
  return new Promise((resolve) => {
    const secret = el('input', {
      type: 'text', readOnly: true, value: token.secret, class: 'mono secret',
      'data-testid': 'token-secret', spellcheck: 'false', autocomplete: 'off',
    });
    const copied = el('span', {class: 'hint', role: 'status', 'aria-live': 'polite', 'data-testid': 'copy-status'});
    const copy = el('button', {
      type: 'button', class: 'primary', 'data-testid': 'copy-secret',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret.value);
          copied.textContent = 'Copied to the clipboard.';
        } catch (err) {
          secret.select();
          copied.textContent = 'The browser did not allow copying: the secret is selected, copy it with Ctrl+C.';
        }
      },
    }, 'Copy');
    const done = el('button', {type: 'button', 'data-testid': 'close-secret'}, 'Done');
    const d = dialog({
      title,
      testid: 'secret-dialog',
      body: [
        el('p', {class: 'secret-warning', role: 'alert'},
          'Copy this secret now: it will not be shown again. Whoever holds it acts as ',
          token.principal_name || 'its principal', ' until it expires (', formatTime(token.expires_at),
          ') or is revoked.'),
        field('Secret', secret),
        copied,
      ],
      actions: [copy, done],
      onClose: () => {
        secret.value = '';
        resolve();
      },
    });
    done.addEventListener('click', () => d.close());
    secret.focus();
    secret.select();
  });
}

// The text of the file picked in `input` ("" when none).
export async function fileText(input) {
  const file = input.files && input.files[0];
  return file ? file.text() : '';
}

// The page's header: a heading and a lead paragraph, replacing what `main` held.
export function pageFrame(main, title, lead) {
  main.classList.add('admin-page');
  main.replaceChildren(el('div', {class: 'page-header'},
    el('div', {}, el('h1', {}, title), lead ? el('p', {class: 'muted'}, lead) : null)));
}


// An id in a cell: monospace, whole (it wraps).
export function idCell(id) {
  return el('code', {class: 'id'}, id);
}
