// The New Request dialog (POST /request/ov): the pinned-domain certificate pasted, dropped
// or chosen as a file, or one of the pre-uploaded ones (GET /pdcs); serial numbers pasted
// or from a file (at most 20, counted and checked for duplicates before anything is sent);
// an optional platform key certificate; expiry; OS type; override; security profile.
// Every error the API answers is shown next to the field it concerns.
import {dialog, el, field, formatTime, messageOf, uid} from './dom.js';

export const MAX_SERIALS = 20;
const SERIAL = /^[\x21-\x7e]{1,64}$/;  // printable ASCII without spaces, as the service takes
const HEADER_WORDS = new Set(['serial', 'serials', 'serial_number', 'serial-number', 'serialnumber', 'sn']);

// The serial numbers of a pasted or uploaded list: separated by new lines, commas,
// semicolons, tabs or spaces; a header word ("serial_number") is left out.
export function parseSerials(text) {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter((s) => s && !HEADER_WORDS.has(s.toLowerCase()));
}

// What is wrong with a list of serial numbers before it is sent, or ''.
export function checkSerials(serials) {
  if (serials.length === 0) return 'Enter at least one serial number.';
  if (serials.length > MAX_SERIALS) {
    return `At most ${MAX_SERIALS} serial numbers per request: this list has ${serials.length}. Split it into several requests.`;
  }
  const seen = new Set();
  const twice = new Set();
  for (const s of serials) {
    if (seen.has(s)) twice.add(s);
    seen.add(s);
  }
  if (twice.size) return `Listed more than once: ${[...twice].join(', ')}. Remove the duplicates.`;
  const bad = serials.filter((s) => !SERIAL.test(s));
  if (bad.length) return `Not a serial number (1 to 64 printable characters): ${bad.slice(0, 3).join(', ')}.`;
  return '';
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

// A certificate file's bytes as PEM text: PEM as it is, DER wrapped into PEM.
export async function certificateText(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
  if (text.includes('-----BEGIN')) return text.trim();
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----`;
}

// A textarea that also takes a dropped file or one chosen with a file button. `toText`
// turns the File into the textarea's text. {wrapper (the drop zone), textarea, fileInput}.
function dropTextarea({testid, accept, rows = 6, placeholder = '', toText, onText, fileLabel}) {
  const textarea = el('textarea', {rows, placeholder, spellcheck: 'false', 'data-testid': testid});
  const fileInput = el('input', {type: 'file', accept, 'data-testid': `${testid}-file`,
    'aria-label': fileLabel});
  const fileName = el('span', {class: 'muted', 'data-testid': `${testid}-file-name`});
  async function take(file) {
    if (!file) return;
    textarea.value = await toText(file);
    fileName.textContent = `From ${file.name}`;
    textarea.dispatchEvent(new Event('input', {bubbles: true}));
    if (onText) onText();
  }
  fileInput.addEventListener('change', () => take(fileInput.files[0]));
  const zone = el('div', {class: 'dropzone', 'data-testid': `${testid}-drop`},
    textarea,
    el('div', {class: 'row'},
      el('span', {class: 'button small file-button'}, 'Choose file…', fileInput),
      el('span', {text: 'or drop a file here'}), fileName));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    if (e.dataTransfer.files.length) take(e.dataTransfer.files[0]);
  });
  return {zone, textarea, fileInput};
}

function oneYearFromToday() {
  const d = new Date();
  d.setFullYear(d.getFullYear() + 1);
  return isoDate(d);
}

function isoDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// Opens the dialog. `onIssued(result)` runs after every answered request (the
// POST /request/ov answer: {req_id, vouchers: [{serial_number, voucher_id, status,
// reason}]}), also when some serial numbers failed.
export async function openNewRequest(ctx, {onIssued}) {
  let pdcs = [];
  try {
    pdcs = (await ctx.api('GET', '/pdcs')).pdcs || [];
  } catch (e) {
    pdcs = [];  // no pre-uploaded certificates to offer (or none the person may use)
  }
  const now = Date.now();
  pdcs = pdcs.filter((p) => Date.parse(p.not_after) > now && (!p.expiry_time || Date.parse(p.expiry_time) > now));

  // ---- pinned-domain certificate --------------------------------------------------------
  const name = uid('pdc-source');
  const pasteRadio = el('input', {type: 'radio', name, value: 'paste', checked: true, 'data-testid': 'pdc-source-paste'});
  const storedRadio = el('input', {type: 'radio', name, value: 'stored', disabled: pdcs.length === 0,
    'data-testid': 'pdc-source-stored'});
  const pdcText = dropTextarea({testid: 'pdc', accept: '.pem,.crt,.cer,.der', rows: 4,
    placeholder: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----', toText: certificateText,
    fileLabel: 'Pinned-domain certificate file'});
  pdcText.textarea.id = uid('pdc');
  const pdcSelect = el('select', {'data-testid': 'pdc-select'},
    pdcs.map((p) => el('option', {value: p.cert_id,
      text: `${p.name || p.subject} (${p.pdc_organization || 'no organization'}, expires ${formatTime(p.expiry_time || p.not_after)})`})));
  pdcSelect.id = uid('pdc-select');
  const pdcError = el('p', {class: 'field-error', hidden: true, id: uid('err'), 'data-testid': 'pdc-error'});
  const pasteBox = el('div', {},
    el('label', {class: 'visually-hidden', for: pdcText.textarea.id, text: 'Pinned-domain certificate (PEM)'}), pdcText.zone);
  const storedBox = el('div', {hidden: true},
    el('label', {class: 'visually-hidden', for: pdcSelect.id, text: 'Pre-uploaded certificate'}), pdcSelect);
  pdcText.textarea.setAttribute('aria-describedby', pdcError.id);
  pdcSelect.setAttribute('aria-describedby', pdcError.id);
  const pdcFieldset = el('fieldset', {class: 'field'},
    el('legend', {text: 'Pinned-domain certificate'}),
    el('div', {class: 'choices'},
      el('label', {}, pasteRadio, 'Paste or drop a certificate'),
      el('label', {title: pdcs.length ? null : 'None uploaded yet: upload certificates in Settings to reuse them.'},
        storedRadio, 'Use pre-uploaded certificate', pdcs.length ? null : el('span', {class: 'muted', text: '(none uploaded yet)'}))),
    pasteBox, storedBox, pdcError);
  const usingStored = () => storedRadio.checked;
  for (const r of [pasteRadio, storedRadio]) {
    r.addEventListener('change', () => {
      pasteBox.hidden = usingStored();
      storedBox.hidden = !usingStored();
      setPdcError('');
    });
  }
  function setPdcError(message) {
    pdcError.textContent = message || '';
    pdcError.hidden = !message;
    const target = usingStored() ? pdcSelect : pdcText.textarea;
    for (const node of [pdcSelect, pdcText.textarea]) node.removeAttribute('aria-invalid');
    if (message) target.setAttribute('aria-invalid', 'true');
    pdcFieldset.classList.toggle('invalid', Boolean(message));
  }

  // ---- serial numbers ---------------------------------------------------------------------
  const counter = el('span', {class: 'counter', 'data-testid': 'serial-count', 'aria-live': 'polite'});
  const serialText = dropTextarea({testid: 'serials', accept: '.txt,.csv,text/plain,text/csv', rows: 4,
    placeholder: 'One per line, or separated by commas', toText: (f) => f.text(),
    fileLabel: 'Serial numbers file'});
  const serials = field('Serial numbers', serialText.textarea,
    {hint: `Up to ${MAX_SERIALS}, pasted or from a text or CSV file.`, testid: 'serials',
      control: serialText.zone, extra: counter});
  function updateCount() {
    const list = parseSerials(serialText.textarea.value);
    const problem = list.length ? checkSerials(list) : '';
    counter.textContent = `${list.length} of at most ${MAX_SERIALS} serial numbers`;
    counter.classList.toggle('over', Boolean(problem));
    serials.setError(problem);
    return list;
  }
  serialText.textarea.addEventListener('input', updateCount);
  updateCount();
  serials.setError('');

  // ---- options ----------------------------------------------------------------------------
  const platformText = dropTextarea({testid: 'platform-cert', accept: '.pem,.crt,.cer,.der', rows: 4,
    placeholder: 'Optional: -----BEGIN CERTIFICATE----- …', toText: certificateText,
    fileLabel: 'Platform key certificate file'});
  const platform = field('Platform key certificate (optional)', platformText.textarea,
    {hint: 'The owner\'s UEFI platform key certificate, issued by the pinned-domain certificate.',
      testid: 'platform-cert', control: platformText.zone});

  const defaultExpiry = oneYearFromToday();
  const maxDate = new Date();
  maxDate.setFullYear(maxDate.getFullYear() + 3);
  const tomorrow = new Date(Date.now() + 86400000);
  const expiryInput = el('input', {type: 'date', value: defaultExpiry, min: isoDate(tomorrow), max: isoDate(maxDate),
    required: true, 'data-testid': 'expiry'});
  const expiry = field('Expires', expiryInput,
    {hint: 'Default: one year, never past the certificate\'s expiry.', testid: 'expiry'});

  const osSelect = el('select', {'data-testid': 'os-type'},
    el('option', {value: '', text: 'Default (JSON voucher)'}),
    el('option', {value: 'ios-xr', text: 'IOS XR'}),
    el('option', {value: 'ios-xe', text: 'IOS XE'}));
  const os = field('OS type', osSelect, {hint: 'The devices\' software: it picks the voucher format.', testid: 'os-type'});

  const securitySelect = el('select', {'data-testid': 'security-profile'},
    el('option', {value: '', text: 'Default'}),
    el('option', {value: 'revocation-checks', text: 'Revocation checks'}),
    el('option', {value: 'no-revocation-checks', text: 'No revocation checks'}));
  const security = field('Security profile', securitySelect,
    {hint: 'Whether devices check for revocation.', testid: 'security-profile'});

  const overrideBox = el('input', {type: 'checkbox', 'data-testid': 'override'});
  overrideBox.id = uid('override');
  const overrideError = el('p', {class: 'field-error', hidden: true, 'data-testid': 'override-error'});
  const override = {
    wrapper: el('div', {class: 'field'},
      el('label', {class: 'check', for: overrideBox.id}, overrideBox,
        el('span', {}, 'Override: issue even if a live voucher pins another certificate')),
      overrideError),
    setError(message) {
      overrideError.textContent = message || '';
      overrideError.hidden = !message;
    },
  };

  const formError = el('p', {class: 'form-error', role: 'alert', hidden: true, tabindex: -1, 'data-testid': 'request-error'});
  const results = el('div', {'data-testid': 'request-results', hidden: true});
  const form = el('form', {novalidate: true, id: uid('new-request')},
    formError,
    pdcFieldset,
    serials.wrapper,
    el('div', {class: 'grid-2'}, expiry.wrapper, os.wrapper, security.wrapper, el('div', {}, override.wrapper)),
    el('details', {class: 'options'},
      el('summary', {text: 'Platform key certificate'}),
      platform.wrapper),
    results);

  const submit = el('button', {type: 'submit', class: 'primary', 'data-testid': 'request-submit',
    text: 'Request vouchers', form: form.id});
  const cancel = el('button', {type: 'button', 'data-testid': 'request-cancel', text: 'Cancel'});
  const d = dialog({title: 'New request', body: [form], actions: [cancel, submit], testid: 'new-request-dialog', wide: true});
  cancel.addEventListener('click', () => d.close());

  const fields = {pdc: {setError: setPdcError}, serials, platform, expiry, os, security, override};
  function clearErrors() {
    formError.hidden = true;
    for (const f of Object.values(fields)) f.setError('');
  }

  // The dialog field an API error concerns, or null (then it shows above the form).
  function fieldFor(error) {
    const f = error.field;
    const detail = error.detail || '';
    if (f === 'serial_numbers' || f === 'ien') return 'serials';
    if (f === 'expires' || f === 'expires_at') return 'expiry';
    if (f === 'os_type' || detail.startsWith('os_type ')) return 'os';
    if (f === 'security_profile') return 'security';
    if (f === 'platform_cert') return 'platform';
    if (f === 'override') return 'override';
    if (f === 'pdc' || f === 'cert_id' || /^(pinned-domain|certificate )|exactly one/.test(detail)) return 'pdc';
    return null;
  }

  function focusInvalid() {
    const bad = form.querySelector('[aria-invalid="true"]');
    if (bad) bad.focus();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    results.hidden = true;
    const body = {};
    let ok = true;
    const list = updateCount();
    const serialProblem = checkSerials(list);
    if (serialProblem) {
      serials.setError(serialProblem);
      ok = false;
    } else {
      body.serial_numbers = list;
    }
    if (usingStored()) {
      if (!pdcSelect.value) {
        setPdcError('Choose a pre-uploaded certificate.');
        ok = false;
      }
      body.cert_id = pdcSelect.value;
    } else {
      const pem = pdcText.textarea.value.trim();
      if (!pem) {
        setPdcError('Paste the pinned-domain certificate, drop its file here, or choose a pre-uploaded one.');
        ok = false;
      } else if (!PEM_CERT.test(pem)) {
        setPdcError('This is not a PEM certificate: it must hold -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----.');
        ok = false;
      }
      body.pdc = pem;
    }
    const platformPem = platformText.textarea.value.trim();
    if (platformPem) {
      if (!PEM_CERT.test(platformPem)) {
        platform.setError('This is not a PEM certificate.');
        form.querySelector('details.options').open = true;
        ok = false;
      }
      body.platform_cert = platformPem;
    }
    if (!expiryInput.value) {
      expiry.setError('Choose the date the vouchers expire.');
      ok = false;
    } else if (expiryInput.value !== defaultExpiry) {
      if (expiryInput.value < expiryInput.min || expiryInput.value > expiryInput.max) {
        expiry.setError(`Choose a date from ${expiryInput.min} to ${expiryInput.max}.`);
        ok = false;
      }
      body.expires_at = `${expiryInput.value}T23:59:59Z`;
    }
    if (osSelect.value) body.os_type = osSelect.value;
    if (securitySelect.value) body.security_profile = securitySelect.value;
    if (overrideBox.checked) body.override = true;
    if (!ok) {
      focusInvalid();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Requesting…';
    let answer;
    try {
      answer = await ctx.api('POST', '/request/ov', body);
    } catch (err) {
      const where = fieldFor(err);
      if (where === 'platform') form.querySelector('details.options').open = true;
      if (where) {
        fields[where].setError(messageOf(err));
        focusInvalid();
      } else {
        formError.textContent = err.status === 503
          ? `The appliance is busy: ${messageOf(err)} Try again in a moment.`
          : messageOf(err);
        formError.hidden = false;
        formError.focus();
      }
      return;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Request vouchers';
    }
    const failed = (answer.vouchers || []).filter((v) => v.status !== 'completed');
    const issued = (answer.vouchers || []).length - failed.length;
    onIssued(answer);
    if (!failed.length) {
      ctx.toast(`${issued} voucher${issued === 1 ? '' : 's'} issued (request ${answer.req_id}).`, 'success');
      d.close();
      return;
    }
    // Some serial numbers failed: say which and why next to the list, and leave only
    // them in it, so that fixing the cause and sending again asks for those alone.
    serialText.textarea.value = failed.map((v) => v.serial_number).join('\n');
    updateCount();
    serials.setError(`${failed.length} of ${failed.length + issued} serial numbers got no voucher; they are left in the list:`);
    results.replaceChildren(
      el('p', {text: issued ? `${issued} voucher${issued === 1 ? ' was' : 's were'} issued (request ${answer.req_id}); they are in the table.` : 'No voucher was issued.'}),
      el('ul', {class: 'field-error-list'}, failed.map((v) => el('li', {'data-testid': 'request-failure'},
        el('strong', {text: v.serial_number}), `: ${v.reason || v.status}`))));
    results.hidden = false;
    if (failed.some((v) => /override/.test(v.reason || ''))) {
      override.setError('Some serial numbers already have a live voucher for another certificate: tick Override to replace it.');
    }
    serialText.textarea.focus();
  });
}
