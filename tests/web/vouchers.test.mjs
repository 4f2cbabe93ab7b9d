// The home page and the New Request dialog in Chromium against a real masad: vouchers
// requested for several serial numbers with a pasted and with a pre-uploaded pinned-domain
// certificate, API errors shown at their fields, a downloaded voucher verified with
// `openssl cms -verify`, regenerate, archive, filter, sort and group, and a viewer who
// sees no New Request button. Writes the screenshots "home" and "new-request".
import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {launch, screenshot, signInWithToken, startAppliance} from './harness.mjs';

const OPENSSL = process.env.OPENSSL || 'openssl';
const ORG = 'org-web';
const SERIALS = Array.from({length: 6}, (_, i) => `WEB-${String(i + 1).padStart(3, '0')}`);

let appliance;
let browser;
let page;
let work;
let admin;     // bearer token of an admin of ORG (request, download, archive)
let pdcPem;    // the owner CA: the pinned-domain certificate

// A pinned-domain certificate as a customer makes it: a self-signed owner CA.
function makeOwnerCa(dir, name) {
  const key = path.join(dir, `${name}.key`);
  const pem = path.join(dir, `${name}.pem`);
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '3650', '-subj', `/O=Web Customer/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', key, '-out', pem], {stdio: 'pipe'});
  return fs.readFileSync(pem, 'utf8');
}

// The REST API with a bearer token, as a script would call it: {status, json}.
const rest = (method, urlPath, token, body) => appliance.api(method, urlPath, {token, body});

// Signs in with `token` (accepting the licence terms) and waits for the home page's table.
async function signIn(p, token) {
  await signInWithToken(p, appliance.url, token, {acceptLicence: true});
  await p.getByTestId('vouchers').waitFor();
}

// Waits until the table is loaded and its rows (their data-* attributes) pass `check`:
// 'completed' (every serial of `arg` has a completed voucher), 'contain' (every serial of
// `arg` is shown), 'only' (the serials shown are `arg`, in this order), 'count' (`arg`
// rows). The check runs in the page, as a function: the page's CSP forbids eval.
async function waitForRows(check, arg, p = page) {
  await p.waitForFunction(({check: c, arg: a}) => {
    const wrap = document.querySelector('.table-wrap');
    if (!wrap || wrap.getAttribute('aria-busy') === 'true') return false;
    const shown = [...document.querySelectorAll('tr[data-testid="voucher-row"]')].map((r) => ({...r.dataset}));
    switch (c) {
      case 'completed': return a.every((s) => shown.some((r) => r.serial === s && r.status === 'completed'));
      case 'contain': return a.every((s) => shown.some((r) => r.serial === s));
      case 'only': return shown.length === a.length && shown.every((r, i) => r.serial === a[i]);
      case 'count': return shown.length === a;
      default: throw new Error(`unknown check ${c}`);
    }
  }, {check, arg});
}

// Takes away the messages in the corner (they go by themselves a few seconds later), so that a screenshot shows the page under them.
async function dismissToasts(p = page) {
  await p.evaluate(() => document.getElementById('toasts').replaceChildren());
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'masa-web-vouchers-'));
  appliance = await startAppliance({});
  admin = await appliance.token(ORG, 'admin@web.example', 'admin');
  await appliance.masactl(['serials', 'assign', '--org', ORG, '--serials', SERIALS.join(',')]);
  pdcPem = makeOwnerCa(work, 'owner-ca');
  browser = await launch();
  page = await browser.page({acceptDownloads: true});
  await signIn(page, admin);
});

after(async () => {
  await browser?.stop();
  await appliance?.stop();
  if (work) fs.rmSync(work, {recursive: true, force: true});
});

test('requesting vouchers for several serials with a pasted certificate', async () => {
  await page.getByTestId('new-request').click();
  const dialog = page.getByTestId('new-request-dialog');
  await dialog.waitFor();
  await page.getByTestId('pdc').fill(pdcPem);
  // A duplicate is caught while typing, before anything is sent.
  await page.getByTestId('serials').fill(`${SERIALS[0]}\n${SERIALS[1]}, ${SERIALS[0]}`);
  await page.getByTestId('serials-error').waitFor();
  assert.match(await page.getByTestId('serials-error').textContent(), /more than once: WEB-001/);
  // More than 20 as well.
  await page.getByTestId('serials').fill(Array.from({length: 21}, (_, i) => `X-${i}`).join('\n'));
  assert.match(await page.getByTestId('serial-count').textContent(), /^21 of at most 20/);
  assert.match(await page.getByTestId('serials-error').textContent(), /At most 20/);
  await page.getByTestId('serials').fill(SERIALS.slice(0, 3).join('\n'));
  assert.match(await page.getByTestId('serial-count').textContent(), /^3 of at most 20/);
  assert.equal(await page.getByTestId('serials-error').isVisible(), false);
  await screenshot(page, 'new-request');
  await page.getByTestId('request-submit').click();
  await dialog.waitFor({state: 'detached'});
  await waitForRows('completed', SERIALS.slice(0, 3));
  // The new vouchers are marked in the table.
  assert.equal(await page.locator('tr.highlight[data-testid="voucher-row"]').count(), 3);
});

test('requesting vouchers with a pre-uploaded certificate and a dropped list of serials', async () => {
  const other = makeOwnerCa(work, 'uploaded-ca');
  const uploaded = await rest('POST', '/pdc', admin, {name: 'Uploaded owner CA', certificate: other});
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.json));
  await page.getByTestId('new-request').click();
  await page.getByTestId('new-request-dialog').waitFor();
  await page.getByTestId('pdc-source-stored').check();
  await page.getByTestId('pdc-select').selectOption(uploaded.json.pdc.cert_id);
  // The serial numbers as a file dropped on the list.
  await page.getByTestId('serials-drop').evaluate((zone, text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], 'serials.csv', {type: 'text/csv'}));
    zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }, `serial_number\n${SERIALS[3]}\n${SERIALS[4]}\n`);
  await page.waitForFunction(() => /^2 of/.test(document.querySelector('[data-testid="serial-count"]').textContent));
  await page.getByTestId('request-submit').click();
  await page.getByTestId('new-request-dialog').waitFor({state: 'detached'});
  await waitForRows('contain', [SERIALS[3], SERIALS[4]]);
  const listed = await rest('GET', `/vouchers?serial_number=${SERIALS[3]}`, admin);
  assert.equal(listed.json.vouchers[0].pdc_organization, 'Web Customer');
});

test('errors of the API appear next to the field they concern', async () => {
  await page.getByTestId('new-request').click();
  await page.getByTestId('new-request-dialog').waitFor();
  // A PEM block that is no certificate: the service refuses the pinned-domain certificate.
  await page.getByTestId('pdc').fill('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await page.getByTestId('serials').fill(SERIALS[5]);
  await page.getByTestId('request-submit').click();
  await page.getByTestId('pdc-error').waitFor();
  assert.match(await page.getByTestId('pdc-error').textContent(), /certificate/i);
  assert.equal(await page.getByTestId('pdc').getAttribute('aria-invalid'), 'true');
  // A serial number not assigned to the organization: named with the reason, left in the list.
  await page.getByTestId('pdc').fill(pdcPem);
  await page.getByTestId('serials').fill(`${SERIALS[5]}\nNOT-OURS-1`);
  await page.getByTestId('request-submit').click();
  await page.getByTestId('request-failure').waitFor();
  assert.match(await page.getByTestId('request-failure').textContent(), /NOT-OURS-1/);
  assert.equal(await page.getByTestId('serials').inputValue(), 'NOT-OURS-1');
  await page.getByTestId('request-cancel').click();
  await waitForRows('contain', [SERIALS[5]]);
});

test('a downloaded voucher verifies with openssl cms -verify', async () => {
  const row = page.locator(`tr[data-testid="voucher-row"][data-serial="${SERIALS[0]}"]`).first();
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('download').click()]);
  assert.equal(download.suggestedFilename(), `${SERIALS[0]}.vcj`);
  const file = path.join(work, 'voucher.vcj');
  await download.saveAs(file);
  const content = path.join(work, 'voucher.json');
  execFileSync(OPENSSL, ['cms', '-verify', '-binary', '-inform', 'DER', '-in', file,
    '-CAfile', path.join(appliance.stateDir, 'trust-anchor.pem'), '-out', content], {stdio: 'pipe'});
  const voucher = JSON.parse(fs.readFileSync(content, 'utf8'))['ietf-voucher:voucher'];
  assert.equal(voucher['serial-number'], SERIALS[0]);
});

test('regenerate renews a voucher in place', async () => {
  const row = page.locator(`tr[data-testid="voucher-row"][data-serial="${SERIALS[1]}"]`).first();
  const id = await row.getAttribute('data-voucher-id');
  assert.equal((await rest('GET', `/voucher/${id}`, admin)).json.voucher.last_renewal_at, null);
  await row.getByTestId('regenerate').click();
  await page.getByTestId('toast').filter({hasText: 'regenerated'}).waitFor();
  await page.locator(`tr.highlight[data-voucher-id="${id}"]`).waitFor();
  assert.notEqual((await rest('GET', `/voucher/${id}`, admin)).json.voucher.last_renewal_at, null);
});

test('archive asks first, then archives', async () => {
  const row = page.locator(`tr[data-testid="voucher-row"][data-serial="${SERIALS[2]}"]`).first();
  const id = await row.getAttribute('data-voucher-id');
  await row.getByTestId('archive').click();
  await page.getByTestId('confirm-archive-no').click();
  assert.equal((await rest('GET', `/voucher/${id}`, admin)).json.voucher.status, 'completed');
  await row.getByTestId('archive').click();
  await page.getByTestId('confirm-archive-yes').click();
  const archived = page.locator(`tr[data-voucher-id="${id}"][data-status="archived"]`);
  await archived.waitFor();
  assert.equal(await archived.getByTestId('archive').count(), 0);
  assert.equal(await archived.getByTestId('regenerate').count(), 0);
  assert.equal((await rest('GET', `/voucher/${id}`, admin)).json.voucher.status, 'archived');
});

test('a voucher\'s page shows its audit entries and the state of its inclusion proof', async () => {
  const row = page.locator(`tr[data-testid="voucher-row"][data-serial="${SERIALS[1]}"]`).first();
  const id = await row.getAttribute('data-voucher-id');
  await row.getByTestId('voucher-link').click();
  await page.waitForFunction(() => /^\d+ entr/.test(document.querySelector('[data-testid="audit-status"]')?.textContent ?? ''));
  const actions = await page.locator('[data-testid="audit-entries"] tbody th').allTextContents();
  assert.deepEqual(actions, ['voucher.issue', 'voucher.renew']);
  assert.match(await page.getByTestId('voucher-details').textContent(), new RegExp(id));
  // Proven once a checkpoint covers the renewal; until then the page says it is pending.
  const proof = page.locator('[data-testid="proof-check"], [data-testid="proof-pending"]');
  await proof.waitFor();
  if (await page.getByTestId('proof-check').count()) {
    assert.match(await page.getByTestId('proof-check').textContent(), /leads from entry/);
  }
  await page.goBack();
  await page.getByTestId('vouchers').waitFor();
});

test('filter, sort and group the table', async () => {
  // Status.
  await page.getByTestId('filter-status').selectOption('archived');
  await waitForRows('only', [SERIALS[2]]);
  await page.getByTestId('filter-status').selectOption('');
  // Text: an exact serial number.
  await page.getByTestId('filter-field').selectOption('serial_number');
  await page.getByTestId('filter-text').fill(SERIALS[4]);
  await page.getByTestId('filter-text').press('Enter');
  await waitForRows('only', [SERIALS[4]]);
  await page.getByTestId('filter-clear').click();
  await waitForRows('count', 6);
  // Sort: a click sorts ascending, the next descending; aria-sort says which.
  await page.getByTestId('sort-serial_number').click();
  await page.locator('th[aria-sort="ascending"] [data-testid="sort-serial_number"]').waitFor();
  await waitForRows('only', [...SERIALS].sort());
  await page.getByTestId('sort-serial_number').click();
  await page.locator('th[aria-sort="descending"] [data-testid="sort-serial_number"]').waitFor();
  await waitForRows('only', [...SERIALS].sort().reverse());
  // Group by request: three requests (3 + 2 + 1 vouchers), each under its own header.
  await page.getByTestId('group-by').selectOption('req_id');
  await page.getByTestId('group-row').first().waitFor();
  const groups = await page.getByTestId('group-row').allTextContents();
  assert.equal(groups.length, 3);
  assert.deepEqual(groups.map((g) => Number(/· (\d+) voucher/.exec(g)[1])).sort(), [1, 2, 3]);
  await dismissToasts();
  await screenshot(page, 'home');
  await page.getByTestId('group-by').selectOption('');
  await page.getByTestId('sort-requested_at').click();
});

test('a viewer sees the vouchers but no New Request button and no actions', async () => {
  const viewerToken = await appliance.token(ORG, 'viewer@web.example', 'viewer');
  const viewerPage = await browser.page();
  await signIn(viewerPage, viewerToken);
  await viewerPage.locator('tr[data-testid="voucher-row"]').first().waitFor();
  assert.equal(await viewerPage.getByTestId('new-request').count(), 0);
  assert.equal(await viewerPage.getByTestId('regenerate').count(), 0);
  assert.equal(await viewerPage.getByTestId('archive').count(), 0);
  await viewerPage.context().close();
});
