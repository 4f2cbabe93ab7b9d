// Signing in to the web application in Chromium against a real masad and a real OpenID
// provider: "Sign in using SSO" and the licence terms on the first sign-in only (accepted
// once, audited as licence.accept), an unknown person refused with a clear page, API-token
// sign-in with its cookie out of JavaScript's reach, sign-out ending the session on the
// server, a token revoked and a principal disabled while signed in, a CSRF attempt from
// another origin of the same site refused with nothing changed, and the security headers.
// Writes the screenshots "sign-in" and "licence".
import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import {launch, request, screenshot, signInWithToken, startAppliance, startIdp} from './harness.mjs';

const ORG = 'org-web';
const ALICE = 'alice@web.example';  // the organization's admin, known to the provider

let idp;
let app;
let browser;
let alice;  // an API token of ALICE

before(async () => {
  idp = await startIdp({users: [
    {sub: 'alice', email: ALICE},
    {sub: 'mallory', email: 'mallory@elsewhere.example'},
  ]});
  app = await startAppliance({oidc: idp});
  alice = await app.token(ORG, ALICE, 'admin');
  browser = await launch();
});

after(async () => {
  await browser?.stop();
  await app?.stop();
  await idp?.stop();
});

const SESSION_COOKIE = '__Host-masa_session';

async function sessionCookie(page) {
  return (await page.context().cookies(app.url)).find((c) => c.name === SESSION_COOKIE);
}

// GET `urlPath` from node with only `cookie` (as a stolen cookie would be replayed).
function withCookie(urlPath, cookie, {method = 'GET', headers = {}, body} = {}) {
  return request(new URL(urlPath, app.url).href, {method, body, ca: fs.readFileSync(app.caFile),
    headers: {Cookie: `${SESSION_COOKIE}=${cookie.value}`, ...headers}});
}

async function audit(action) {
  const r = await app.api('GET', '/audit?limit=1000', {token: alice});
  assert.equal(r.status, 200, r.text);
  return r.json.entries.filter((e) => e.action === action);
}

// From the sign-in page through the provider's login (and consent) pages as `sub`.
async function signInWithSso(page, sub) {
  await page.goto(app.url);
  const sso = page.getByTestId('sso-sign-in');
  assert.match(await sso.textContent(), /Sign in using SSO/);
  await sso.click();
  await idp.login(page, sub);
}

// A signed-in page's session has ended: its next call (the navigation clicked here, or a
// call of the page still loading) fails, and the application returns to the sign-in page,
// which says why.
async function assertReturnsToSignIn(page) {
  const signIn = page.getByTestId('token-input');
  // The click fails (and is retried until the bound) when the page got there first.
  page.getByTestId('nav-settings').click().catch(() => {});
  await signIn.waitFor();
  assert.match(await page.getByTestId('sign-in-message').textContent(), /session has ended/);
  assert.equal(await page.getByTestId('sign-out').isVisible(), false);
}

// Signed in with `token`, the home page loaded (no call in flight).
async function signInAndSettle(page, token) {
  await signInWithToken(page, app.url, token, {acceptLicence: true});
  await page.waitForLoadState('networkidle');
}

test('SSO sign-in shows the licence terms on the first sign-in only, and their acceptance is audited', async () => {
  const page = await browser.page();
  await page.goto(app.url);
  await page.getByTestId('sso-sign-in').waitFor();
  await screenshot(page, 'sign-in');
  await signInWithSso(page, 'alice');
  await page.getByTestId('licence-accept').waitFor();
  assert.ok((await page.getByTestId('licence-text').textContent()).trim().length > 0);
  assert.deepEqual(await audit('licence.accept'), []);
  await screenshot(page, 'licence');
  await page.getByTestId('licence-accept').click();
  await page.getByTestId('sign-out').waitFor();
  assert.match(await page.getByTestId('user-name').textContent(), new RegExp(ALICE));
  assert.match(await page.getByTestId('organization').textContent(), new RegExp(ORG));

  const me = app.principal(ORG, ALICE).principalId;
  const accepted = await audit('licence.accept');
  assert.equal(accepted.length, 1, JSON.stringify(accepted));
  assert.equal(accepted[0].actor, me);
  assert.ok((await audit('session.start')).some((e) => e.actor === me));

  // Another browser, another SSO sign-in: straight to the application.
  const again = await browser.page();
  await signInWithSso(again, 'alice');
  await again.getByTestId('sign-out').waitFor();
  assert.equal(await again.getByTestId('licence').count(), 0);
  assert.equal((await audit('licence.accept')).length, 1);
});

test('an unknown person is refused with a page that says why, and gets no session', async () => {
  const page = await browser.page();
  const callback = page.waitForResponse((r) => r.url().startsWith(`${app.url}/auth/oidc/callback`));
  await signInWithSso(page, 'mallory');
  const answer = await callback;
  assert.ok([401, 403].includes(answer.status()), `callback answered ${answer.status()}`);
  assert.match(answer.headers()['content-type'], /^text\/html/);
  const text = await page.locator('body').textContent();
  assert.match(text, /mallory@elsewhere\.example/);
  assert.match(text, /no user|not registered|unknown/i);
  assert.equal(await page.locator('a[href="/"]').count(), 1);
  assert.equal(await sessionCookie(page), undefined);
  // The link back leads to the sign-in page, not into the application.
  await page.locator('a[href="/"]').click();
  await page.getByTestId('token-input').waitFor();
});

test('token sign-in sets a cookie scripts cannot read, and sign-out ends the session on the server', async () => {
  const tess = await app.token(ORG, 'tess@web.example', 'viewer');
  const page = await browser.page();
  assert.equal(await signInWithToken(page, app.url, tess), 'licence');
  await page.getByTestId('licence-accept').click();
  await page.getByTestId('sign-out').waitFor();
  assert.match(await page.getByTestId('user-name').textContent(), /tess@web\.example/);

  const cookie = await sessionCookie(page);
  assert.ok(cookie, 'no session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  assert.equal(cookie.expires, -1, 'a browser-session cookie has no expiry');
  assert.ok(!cookie.value.includes(tess), 'the cookie is not the API token');
  assert.equal(await page.evaluate(() => document.cookie), '');

  const before = await withCookie('/auth/session', cookie);
  assert.equal(before.status, 200, before.text);
  assert.equal(before.json.profile.name, 'tess@web.example');

  await page.getByTestId('sign-out').click();
  await page.getByTestId('token-input').waitFor();
  // The old cookie, replayed: refused by the server, not only forgotten by the browser.
  const replayed = await withCookie('/auth/session', cookie);
  assert.equal(replayed.status, 401, replayed.text);
  assert.equal((await withCookie('/vouchers', cookie)).status, 401);
  assert.ok((await audit('session.end')).some(
      (e) => e.actor === app.tokenInfo(tess).principalId));
});

test('revoking the token a session was started with ends that session at once', async () => {
  const rita = await app.token(ORG, 'rita@web.example', 'viewer');
  const page = await browser.page();
  await signInAndSettle(page, rita);
  const cookie = await sessionCookie(page);
  const revoked = await app.api('DELETE', `/tokens/${app.tokenInfo(rita).tokenId}`, {token: alice});
  assert.equal(revoked.status, 200, revoked.text);
  await assertReturnsToSignIn(page);
  assert.equal((await withCookie('/auth/session', cookie)).status, 401);
});

test('disabling a principal ends its sessions at once', async () => {
  const dora = await app.token(ORG, 'dora@web.example', 'viewer');
  const page = await browser.page();
  await signInAndSettle(page, dora);
  const cookie = await sessionCookie(page);
  const disabled = await app.api('POST',
      `/principals/${app.tokenInfo(dora).principalId}/disable`, {token: alice, body: {}});
  assert.equal(disabled.status, 200, disabled.text);
  await assertReturnsToSignIn(page);
  assert.equal((await withCookie('/auth/session', cookie)).status, 401);
  // Signing in again with the (unrevoked) token is refused too.
  await page.getByTestId('token-input').fill(dora);
  await page.getByTestId('token-sign-in').click();
  await page.getByTestId('token-error').waitFor();
  assert.match(await page.getByTestId('token-error').textContent(), /\S/);
  assert.equal(await page.getByTestId('sign-out').isVisible(), false);
});

// A page on another origin of the same site (https://127.0.0.1, another port), so that the
// browser does send the SameSite=Strict cookie with its requests: masad itself must refuse
// them (no X-CSRF-Token, a foreign Origin). It also tries to frame the application.
async function startAttacker() {
  const target = app.url;
  const html = `<!doctype html><html><head><title>prizes</title></head><body>
<form id="form" method="post" action="${target}/tokens" enctype="text/plain">
<input type="hidden" name='{"description":"csrf-form","pad":"' value='"}'>
<button type="submit" id="claim">Claim your prize</button></form>
<iframe id="frame" src="${target}/" title="framed"></iframe>
<script>
document.getElementById('frame').addEventListener('load', () => { document.body.dataset.framed = '1'; });
fetch('${target}/tokens', {method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({description: 'csrf-fetch'})})
  .finally(() => { document.body.dataset.fetched = '1'; });
</script></body></html>`;
  const server = https.createServer({cert: fs.readFileSync(path.join(app.stateDir, 'tls.pem')),
    key: fs.readFileSync(path.join(app.stateDir, 'tls-key.pem'))}, (req, res) => {
    res.writeHead(200, {'Content-Type': 'text/html'});
    res.end(html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {url: `https://127.0.0.1:${server.address().port}/`, stop: () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  }};
}

test('a page of another origin cannot act with the signed-in person\'s cookie, nor frame the application', async () => {
  const vic = await app.token(ORG, 'vic@web.example', 'admin');
  const who = app.tokenInfo(vic).principalId;
  const tokensOf = async () => {
    const r = await app.api('GET', `/tokens?principal_id=${who}`, {token: alice});
    assert.equal(r.status, 200, r.text);
    return r.json.tokens.map((t) => t.description);
  };
  const page = await browser.page();
  await signInWithToken(page, app.url, vic, {acceptLicence: true});
  const tokensBefore = await tokensOf();
  const attacker = await startAttacker();
  try {
    const isPost = (r) => r.url() === `${app.url}/tokens` && r.request().method() === 'POST';
    const fetched = page.waitForResponse(isPost);
    await page.goto(attacker.url);
    const viaFetch = await fetched;
    assert.equal(viaFetch.status(), 403);
    await page.locator('body[data-fetched="1"][data-framed="1"]').waitFor();
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(!frame.url().startsWith(app.url), `the application was framed: ${frame.url()}`);

    const posted = page.waitForResponse(isPost);
    await page.locator('#claim').click();
    const viaForm = await posted;
    assert.equal(viaForm.status(), 403);
    // The browser did send the cookie (same site): masad refused the request, not the browser.
    assert.match(await viaForm.request().headerValue('cookie') ?? '', /__Host-masa_session=/);
    const problem = await viaForm.json();
    assert.equal(problem.type, 'urn:masa:problem:csrf');
    assert.match(problem.detail, /X-CSRF-Token|Origin/);
  } finally {
    await attacker.stop();
  }
  assert.deepEqual(await tokensOf(), tokensBefore);
  // The person's own session is still good.
  await page.goto(app.url);
  await page.getByTestId('sign-out').waitFor();
});

test('the application is served with a script-only-from-self CSP, frame denial, no referrer and HSTS', async () => {
  const ca = fs.readFileSync(app.caFile);
  const index = await request(`${app.url}/`, {ca});
  assert.equal(index.status, 200);
  const h = index.headers;
  assert.match(h['content-type'], /^text\/html/);
  const csp = h['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /object-src 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(h['x-frame-options'], 'DENY');
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.match(h['strict-transport-security'] ?? '', /max-age=\d{7,}/);
  const json = await request(`${app.url}/auth/config`, {ca});
  assert.match(json.headers['content-security-policy'] ?? '', /default-src 'none'/);
  assert.equal(json.json.oidc, true);

  // The page itself: no inline script or style attribute, nothing fetched from other hosts.
  const page = await browser.page();
  await page.goto(app.url);
  await page.getByTestId('sign-in').waitFor();
  assert.equal(await page.locator('script:not([src])').count(), 0);
  assert.equal(await page.locator('[style]').count(), 0);
  assert.deepEqual(browser.foreignRequests.filter((u) => !u.includes('fonts.googleapis.com')), []);
});
