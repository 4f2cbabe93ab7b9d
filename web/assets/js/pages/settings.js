// Settings: the signed-in person's API tokens (create, shown once, list, revoke) and the
// organization's pre-uploaded pinned-domain certificates (upload, list, delete).
import {
  el, field, section, dataTable, time, statusLine, busy, confirmAction, showSecretOnce, badge,
  fileText, pageFrame, idCell,
} from './parts.js';

// The longest validity POST /tokens takes, read from the API's own OpenAPI document so the
// form follows the daemon; 183 days (six months) when the document does not say.
async function maxValidityDays(api) {
  try {
    const doc = await api('GET', '/openapi.json');
    const max = doc.components.schemas.TokenRequest.properties.validity_days.maximum;
    if (Number.isInteger(max) && max > 0) return max;
  } catch (err) {
    // The form still works; the API refuses what it does not take, beside the field.
  }
  return 183;
}

const TOKEN_BADGE = {active: 'ok', expired: 'expired', revoked: 'archived'};

function tokenState(t) {
  if (t.revoked) return 'revoked';
  if (new Date(t.expires_at) <= new Date()) return 'expired';
  return 'active';
}

async function tokensSection(ctx) {
  const {api, profile} = ctx;
  const maxDays = await maxValidityDays(api);
  const description = el('input', {
    type: 'text', name: 'description', maxlength: '256', required: true,
    'data-testid': 'token-description', autocomplete: 'off',
  });
  const validity = el('input', {
    type: 'number', name: 'validity_days', min: '1', max: String(maxDays), step: '1',
    value: String(Math.min(30, maxDays)), placeholder: 'default', 'data-testid': 'token-validity',
  });
  const create = el('button', {type: 'submit', class: 'primary', 'data-testid': 'create-token'}, 'Create token');
  const status = statusLine('token-status');
  const list = el('div', {'data-testid': 'token-list'});

  const fields = {
    description: field('Description', description, 'What the token is for, e.g. "ZTP server".'),
    validity_days: field('Valid for (days)', validity,
      `1 to ${maxDays} days; empty: the appliance's default. Never past the expiry of the token you signed in with.`),
  };
  const form = el('form', {class: 'inline-form', 'aria-label': 'New API token'},
    fields.description, fields.validity_days, el('div', {class: 'form-actions'}, create), status.node);

  async function refresh() {
    const {tokens} = await api('GET', '/tokens');
    tokens.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    list.replaceChildren(dataTable('Your API tokens', ['Description', 'Token ID', 'Created', 'Expires', 'State', 'Actions'],
      tokens.map((t) => {
        const state = tokenState(t);
        const revoke = state === 'active'
          ? el('button', {
            type: 'button', class: 'danger-outline', 'data-testid': `revoke-${t.token_id}`,
            'aria-label': `Revoke token ${t.description || t.token_id}`,
            onclick: async (e) => {
              if (!(await confirmAction(`Revoke the token "${t.description || t.token_id}"? Everything using it, and every token it minted, stops working at once.`, 'Revoke'))) return;
              await busy(e.target, status, async () => {
                await api('DELETE', `/tokens/${encodeURIComponent(t.token_id)}`);
                status.message(`Token ${t.description || t.token_id} revoked.`);
                await refresh();
              });
            },
          }, 'Revoke')
          : '';
        return {
          testid: `token-${t.token_id}`,
          cells: [t.description || '(no description)', idCell(t.token_id), time(t.created_at),
            time(t.expires_at), badge(state, TOKEN_BADGE[state]), revoke],
        };
      }), {testid: 'tokens-table', empty: 'No API tokens.'}));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {description: description.value.trim()};
    if (validity.value.trim() !== '') {
      const days = Number(validity.value);
      if (!Number.isInteger(days) || days < 1 || days > maxDays) {
        fields.validity_days.setError(`A whole number of days from 1 to ${maxDays}, or empty for the default.`);
        validity.focus();
        return;
      }
      body.validity_days = days;
    }
    await busy(create, status, async () => {
      const {token} = await api('POST', '/tokens', body);
      description.value = '';
      await refresh();
      status.message(`Token ${token.token_id} created.`);
      await showSecretOnce('Your new API token', {...token, principal_name: profile && profile.name});
    }, fields);
  });

  const node = section('API tokens', 'tokens-section',
    el('p', {}, 'Tokens let scripts and servers call the REST and gRPC APIs as you. The secret is shown once, when the token is made.'),
    form, list);
  await busy(create, status, refresh);
  return node;
}

async function pdcSection(ctx) {
  const {api} = ctx;
  const manage = ctx.can('manage-pdcs');
  const status = statusLine('pdc-status');
  const list = el('div', {'data-testid': 'pdc-list'});

  async function refresh() {
    const {pdcs} = await api('GET', '/pdcs');
    list.replaceChildren(dataTable('Pre-uploaded certificates',
      ['Name', 'Subject organization', 'Subject', 'Expires', 'Uploaded', 'SHA-256', ...(manage ? ['Actions'] : [])],
      pdcs.map((p) => ({
        testid: `pdc-${p.cert_id}`,
        cells: [
          p.name || p.cert_id, p.pdc_organization || '(none)', p.subject, time(p.not_after),
          time(p.created_at), el('code', {title: p.sha256}, `${(p.sha256 || '').slice(0, 16)}…`),
          ...(manage ? [el('button', {
            type: 'button', class: 'danger-outline', 'data-testid': `delete-pdc-${p.cert_id}`,
            'aria-label': `Delete certificate ${p.name || p.cert_id}`,
            onclick: async (e) => {
              if (!(await confirmAction(`Delete the certificate "${p.name || p.cert_id}"? Vouchers already issued with it are not affected.`, 'Delete'))) return;
              await busy(e.target, status, async () => {
                await api('DELETE', `/pdc/${encodeURIComponent(p.cert_id)}`);
                status.message(`Certificate ${p.name || p.cert_id} deleted.`);
                await refresh();
              });
            },
          }, 'Delete')] : []),
        ],
      })), {testid: 'pdcs-table', empty: 'No certificates uploaded.'}));
  }

  const children = [el('p', {}, 'Pinned-domain certificates kept here can be picked in the New Request dialog ("use pre-uploaded certificate") instead of pasting them each time.')];
  if (manage) {
    const name = el('input', {type: 'text', name: 'name', maxlength: '256', 'data-testid': 'pdc-name', autocomplete: 'off'});
    const pem = el('textarea', {
      name: 'certificate', rows: '8', spellcheck: 'false', required: true, 'data-testid': 'pdc-pem',
      placeholder: '-----BEGIN CERTIFICATE-----',
    });
    const file = el('input', {type: 'file', accept: '.pem,.crt,.cer,application/x-pem-file', 'data-testid': 'pdc-file'});
    file.addEventListener('change', async () => {
      const text = await fileText(file);
      if (text) pem.value = text;
      if (!name.value && file.files[0]) name.value = file.files[0].name.replace(/\.(pem|crt|cer)$/i, '');
    });
    const upload = el('button', {type: 'submit', class: 'primary', 'data-testid': 'upload-pdc'}, 'Upload certificate');
    const fields = {
      name: field('Name', name, 'Optional; shown in lists and in the New Request dialog.'),
      certificate: field('Certificate (PEM)', pem, 'Paste it, or pick a file below.'),
    };
    const form = el('form', {class: 'stacked-form', 'aria-label': 'Upload a certificate'},
      fields.name, fields.certificate, field('Or a certificate file', file),
      el('div', {class: 'form-actions'}, upload));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!pem.value.trim()) {
        fields.certificate.setError('Paste a PEM certificate or pick a file.');
        pem.focus();
        return;
      }
      await busy(upload, status, async () => {
        const body = {certificate: pem.value};
        if (name.value.trim()) body.name = name.value.trim();
        const {pdc} = await api('POST', '/pdc', body);
        form.reset();
        status.message(`Certificate ${pdc.name || pdc.cert_id} uploaded (${pdc.pdc_organization || 'no organization'}).`);
        await refresh();
      }, fields);
    });
    children.push(form);
  }
  children.push(status.node, list);
  const node = section('Pre-uploaded certificates', 'pdc-section', ...children);
  try {
    await refresh();
  } catch (err) {
    status.error(err);
  }
  return node;
}

export async function render(main, ctx) {
  pageFrame(main, 'Settings');
  main.append(await tokensSection(ctx), await pdcSection(ctx));
}
