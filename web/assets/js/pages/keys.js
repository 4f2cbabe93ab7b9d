// Security officers: the appliance's signing keys and their state, read only. Generating,
// certifying, activating and retiring keys stay with masactl key (and its approvals).
import {el, section, dataTable, time, statusLine, pageFrame, idCell, badge} from './parts.js';

const STATE_ORDER = {active: 0, pending: 1, retired: 2};
const KEY_BADGE = {active: 'ok', pending: 'partial', retired: 'archived'};

function keyTable(title, keys) {
  return dataTable(title,
    ['Key ID', 'State', 'Algorithm', 'Subject', 'Valid from', 'Valid until', 'Activated', 'Retired', 'Last used', 'Signatures', 'SHA-256 fingerprint'],
    keys.map((k) => ({
      testid: `key-${k.key_id}`,
      cells: [k.key_id, el('span', {'data-testid': `key-state-${k.key_id}`}, badge(k.state, KEY_BADGE[k.state])),
        k.algorithm, k.subject || '(no certificate yet)', time(k.not_before), time(k.not_after),
        time(k.activated_at), time(k.retired_at), time(k.last_used_at), String(k.signatures ?? 0),
        k.fingerprint_sha256 ? idCell(k.fingerprint_sha256) : ''],
    })), {testid: `keys-table-${title.startsWith('Voucher') ? 'voucher-signing' : 'audit'}`, empty: 'No keys.'});
}

function keyDetails(k) {
  const chain = (k.chain || []).join('');
  return el('details', {'data-testid': `key-details-${k.key_id}`},
    el('summary', {}, `${k.key_id}: PKCS#11 URI, public key and certificate chain`),
    el('dl', {class: 'props'},
      el('dt', {}, 'PKCS#11 URI'), el('dd', {}, el('code', {}, k.uri || '')),
      el('dt', {}, 'Created'), el('dd', {}, time(k.created_at), ` by ${k.created_by || 'masactl'}`),
      el('dt', {}, 'First used'), el('dd', {}, k.first_used_at ? time(k.first_used_at) : 'never')),
    el('pre', {class: 'pem'}, k.public_key || ''),
    chain ? el('pre', {class: 'pem'}, chain) : null);
}

export async function render(main, ctx) {
  pageFrame(main, 'Signing keys',
    'The keys in the HSM that sign vouchers and audit checkpoints, and their state. Changes are made with masactl key, with the approvals it asks for.');
  const status = statusLine('keys-status');
  main.append(status.node);
  let keys;
  try {
    keys = (await ctx.api('GET', '/keys/managed')).keys;
  } catch (err) {
    status.error(err);
    return;
  }
  keys.sort((a, b) => (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) || (a.created_at < b.created_at ? 1 : -1));
  for (const [purpose, title] of [['voucher-signing', 'Voucher signing keys'], ['audit', 'Audit checkpoint keys']]) {
    const mine = keys.filter((k) => k.purpose === purpose);
    main.append(section(title, `keys-${purpose}`, keyTable(title, mine), mine.map(keyDetails)));
  }
  // Activations and retirements waiting for more security officers (two-person rule).
  try {
    const {approvals} = await ctx.api('GET', '/key-approvals');
    main.append(section('Waiting for approval', 'key-approvals',
      dataTable('Open approvals', ['Approval', 'Key', 'Action', 'Approved by', 'Opened', 'Expires'],
        approvals.map((a) => [a.approval_id, a.key_id, a.action, `${a.approved_by.length} of ${a.required}`,
          time(a.created_at), time(a.expires_at)]),
        {testid: 'key-approvals-table', empty: 'No activation or retirement is waiting for approval.'})));
  } catch (err) {
    status.error(err);
  }
}
