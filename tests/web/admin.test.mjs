// The settings, admin, account-team and keys pages in Chromium against a real masad: an
// admin invites a user and gives a role with grants, makes a token that is shown once and
// revokes it, uploads a pinned-domain certificate; the account team assigns a long list
// of serial numbers in chunks and browses the organization's vouchers and audit log; a
// security officer sees the signing keys.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {OPENSSL, launch, screenshot as save, signInWithToken, startAppliance} from './harness.mjs';

let appliance;
let chromium;
let tmp;
let pdcPem;
const tokens = {};

before(async () => {
  appliance = await startAppliance({});
  chromium = await launch();
  await appliance.token('org-acme', 'admin@acme.example', 'admin');
  // The first admin's own token (masactl's, valid 30 days): a token made in a session never
  // outlives the token that signed in, and token() mints one-day tokens.
  tokens.admin = appliance.adminToken('org-acme');
  tokens.team = await appliance.token('org-vendor', 'team@vendor.example', 'account-team');
  tokens.officer = await appliance.token('org-vendor', 'officer@vendor.example', 'security-officer');
  // The customer's owner CA, made as a customer would, with the openssl CLI.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'masa-admin-web-'));
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '365', '-subj', '/O=Acme Owners/CN=Acme Owner CA',
    '-keyout', path.join(tmp, 'ca.key'), '-out', path.join(tmp, 'ca.pem')], {stdio: 'ignore'});
  pdcPem = fs.readFileSync(path.join(tmp, 'ca.pem'), 'utf8');
});

after(async () => {
  if (chromium) await chromium.stop();
  if (appliance) await appliance.stop();
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

// A page signed in with `token` and showing `hash`, once the page has rendered.
async function openAs(token, hash, options = {}) {
  const page = await chromium.page(options);
  await signInWithToken(page, appliance.url, token, {acceptLicence: true});
  // The home page first renders whole (it rewrites its own address as it loads), then the
  // page asked for.
  const rendered = (name) => page.waitForFunction((n) =>
    document.querySelector(`main [data-page="${n}"] h1`) !== null &&
    !document.getElementById('main').hasAttribute('aria-busy'), name);
  await rendered('home');
  await page.goto(`${appliance.url}/${hash}`);
  await rendered(hash.slice(2).split(/[/?]/)[0]);
  return page;
}

// A screenshot of the whole page from its top (the top bar stays at the top of the window,
// so a page scrolled down would show it in the middle).
async function screenshot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await save(page, name);
}

// The REST API called with a bearer token, outside the browser.
function call(method, urlPath, token, body) {
  return appliance.api(method, urlPath, {token, body});
}

test('an admin invites a user, gives a role on a new group with grants, and disables a service account', async () => {
  const page = await openAs(tokens.admin, '#/admin');
  await page.getByTestId('invite-username').fill('bob@acme.example');
  await page.getByTestId('invite-user').click();
  await page.getByTestId('principal-bob@acme.example').waitFor();

  await page.getByTestId('group-name').fill('Lab');
  await page.getByTestId('create-group').click();
  await page.getByTestId('group-Lab').waitFor();

  await page.getByTestId('binding-principal').selectOption({label: 'bob@acme.example (user)'});
  await page.getByTestId('binding-group').selectOption({label: 'acme / Lab'});
  await page.getByTestId('binding-role').selectOption('requestor');
  await page.getByTestId('binding-grant-archive').check();
  await page.getByTestId('create-binding').click();
  const row = page.getByTestId('binding-bob@acme.example-requestor');
  const grant = (name) => row.getByRole('listitem').filter({hasText: name});
  await grant('archive').waitFor();
  // A second grant added from the row, the first one removed from its chip.
  await row.getByRole('combobox').selectOption('download');
  await row.getByRole('button', {name: 'Add grant'}).click();
  await grant('download').waitFor();
  await row.getByRole('button', {name: 'Remove grant archive from bob@acme.example'}).click();
  await grant('archive').waitFor({state: 'detached'});
  assert.match(await page.getByTestId('principal-bob@acme.example').innerText(), /requestor on Lab/);

  // What the service now holds, as the API shows it.
  const {json: principals} = await call('GET', '/principals', tokens.admin);
  const bob = principals.principals.find((p) => p.name === 'bob@acme.example');
  const {json: bindings} = await call('GET', `/bindings?principal_id=${bob.principal_id}`, tokens.admin);
  assert.equal(bindings.bindings.length, 1);
  assert.equal(bindings.bindings[0].role, 'requestor');
  assert.deepEqual(bindings.bindings[0].grants, ['download']);

  // A service account, disabled after a confirmation.
  await page.getByTestId('account-name').fill('ztp-server');
  await page.getByTestId('create-service-account').click();
  await page.getByTestId('principal-ztp-server').waitFor();
  await screenshot(page, 'admin');
  await page.getByTestId('disable-ztp-server').click();
  await page.getByTestId('confirm-yes').click();
  await page.getByTestId('principal-ztp-server').getByText('disabled').waitFor();
  // The group cannot go while bob holds a role on it: the service's reason is shown.
  await page.getByTestId(`delete-group-${bindings.bindings[0].group_id}`).click();
  await page.getByTestId('confirm-yes').click();
  await page.getByTestId('group-status').getByText(/role|binding|user/i).waitFor();
  await page.close();
});

test('a token is shown once with a copy button, works, and stops working when revoked', async () => {
  const page = await openAs(tokens.admin, '#/settings', {permissions: ['clipboard-read', 'clipboard-write']});
  const max = await page.getByTestId('token-validity').getAttribute('max');
  assert.equal(max, '183', 'the longest validity comes from the API (six months)');
  await page.getByTestId('token-description').fill('nightly export');
  await page.getByTestId('token-validity').fill('7');
  await page.getByTestId('create-token').click();
  const dialog = page.getByTestId('secret-dialog');
  await dialog.getByText('will not be shown again').waitFor();
  const secret = await page.getByTestId('token-secret').inputValue();
  assert.match(secret, /^masa_/);
  await page.getByTestId('copy-secret').click();
  await page.getByTestId('copy-status').getByText('Copied').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await page.getByTestId('close-secret').click();
  await dialog.waitFor({state: 'detached'});

  assert.equal((await call('GET', '/tokens', secret)).status, 200, 'the new token works');
  // Never shown again: not in the page, nor after a reload.
  await page.reload();
  await page.getByTestId('tokens-table').getByText('nightly export').waitFor();
  assert.ok(!(await page.locator('body').innerText()).includes(secret));
  assert.equal(await page.getByTestId('token-secret').count(), 0);

  const row = page.locator('tr', {hasText: 'nightly export'});
  await row.getByRole('button', {name: /Revoke/}).click();
  await page.getByTestId('confirm-yes').click();
  await row.getByText('revoked').waitFor();
  assert.equal((await call('GET', '/tokens', secret)).status, 401, 'the revoked token is refused');
  await page.close();
});

test('an admin uploads a pinned-domain certificate by paste and by file, and deletes one', async () => {
  const page = await openAs(tokens.admin, '#/settings');
  await page.getByTestId('pdc-name').fill('pasted owner CA');
  await page.getByTestId('pdc-pem').fill(pdcPem);
  await page.getByTestId('upload-pdc').click();
  const pasted = page.locator('tr', {hasText: 'pasted owner CA'});
  await pasted.getByRole('cell', {name: 'Acme Owners', exact: true}).waitFor();

  await page.getByTestId('pdc-file').setInputFiles(path.join(tmp, 'ca.pem'));
  // The file's name becomes the certificate's name until one is typed.
  await page.waitForFunction(() => document.querySelector('[data-testid="pdc-name"]').value === 'ca');
  await page.getByTestId('pdc-name').fill('owner CA from a file');
  await page.getByTestId('upload-pdc').click();
  await page.locator('tr', {hasText: 'owner CA from a file'}).getByRole('cell', {name: 'Acme Owners', exact: true})
    .waitFor();

  // Not a certificate: the API's reason appears beside the field.
  await page.getByTestId('pdc-pem').fill('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
  await page.getByTestId('upload-pdc').click();
  await page.getByTestId('pdc-pem-error').waitFor();
  await screenshot(page, 'settings');

  await pasted.getByRole('button', {name: /Delete/}).click();
  await page.getByTestId('confirm-yes').click();
  await pasted.waitFor({state: 'detached'});
  const {json} = await call('GET', '/pdcs', tokens.admin);
  assert.deepEqual(json.pdcs.map((p) => p.name), ['owner CA from a file']);
  await page.close();
});

test('the account team assigns 2500 serial numbers in chunks and browses the organization', async () => {
  const page = await openAs(tokens.team, '#/account-team');
  const serials = Array.from({length: 2500}, (_, i) => `ACME-${String(i + 1).padStart(5, '0')}`);
  const file = path.join(tmp, 'serials.txt');
  fs.writeFileSync(file, `serial_number\n${serials.join('\n')}\nACME-00001\n`);
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/serials/assign')) posts.push(r.postDataJSON());
  });
  await page.getByTestId('assign-organization').selectOption('org-acme');
  await page.getByTestId('assign-file').setInputFiles(file);
  await page.getByTestId('assign-count').getByText('2500 serial numbers; 1 duplicate left out.').waitFor();
  await page.getByTestId('assign-submit').click();
  await page.getByTestId('assign-status').getByText('2500 assigned').waitFor();
  assert.equal(await page.getByTestId('assign-progress-text').innerText(), '2500 of 2500 sent');
  const bar = page.getByTestId('assign-progress');
  assert.equal(await bar.evaluate((p) => [p.value, p.max].join('/')), '2500/2500');
  assert.deepEqual(posts.map((b) => b.serials.length), [1000, 1000, 500]);
  assert.ok(posts.every((b) => b.organization_id === 'org-acme'));

  // The customer requests a voucher for one of them; the account team sees it.
  const {status, json} = await call('POST', '/request/ov', tokens.admin,
    {serial_numbers: ['ACME-02500'], pdc: pdcPem});
  assert.equal(status, 200, JSON.stringify(json));
  await page.getByTestId('browse-vouchers-org-acme').click();
  const voucher = page.getByTestId('org-voucher-ACME-02500');
  await voucher.waitFor();
  assert.match(await voucher.innerText(), /admin@acme\.example/);
  await screenshot(page, 'account-team');

  await page.getByTestId('browse-audit-org-acme').click();
  // Newest first: the request and its voucher above the 2500 assignments.
  const audit = page.getByTestId('org-audit-table');
  await audit.getByRole('cell', {name: 'voucher.issue', exact: true}).waitFor();
  const actions = await audit.locator('tbody tr td:nth-child(4)').allInnerTexts();
  assert.equal(actions.length, 100);
  assert.ok(actions.slice(0, 3).includes('voucher.issue'), actions.slice(0, 3).join());
  assert.equal(actions.at(-1), 'serial.assign');
  const seqs = (await audit.locator('tbody tr th').allInnerTexts()).map(Number);
  assert.ok(seqs[0] > seqs.at(-1));
  await page.close();
});

test('a security officer sees the signing keys and their state', async () => {
  const page = await openAs(tokens.officer, '#/keys');
  const table = page.getByTestId('keys-table-voucher-signing');
  await table.getByText('active').first().waitFor();
  assert.ok(await table.locator('tbody tr').count() >= 1);
  await screenshot(page, 'keys');
  await page.close();
});
