// The browser tests' fixture: a real masad on a fresh `masactl dev-init` state (SoftHSM2
// token, LMDB store, TLS on loopback), a real OpenID provider (npm oidc-provider), and
// Debian's Chromium driven by playwright-core. Every server listens on 127.0.0.1 on a port
// the system chose; every wait is bounded; whatever a test started is stopped by its stop(),
// and killed when the test process exits.
//
//   import {launch, screenshot, signInWithToken, startAppliance, startIdp} from './harness.mjs';
//   const idp = await startIdp({users: [{sub: 'alice', email: 'alice@web.example'}]});
//   const app = await startAppliance({oidc: idp});              // or startAppliance({})
//   const admin = await app.token('org-web', 'alice@web.example', 'admin');
//   const browser = await launch();
//   const page = await browser.page();                          // a fresh context each time
//   await signInWithToken(page, app.url, admin, {acceptLicence: true});
//   await screenshot(page, 'home');
//   await browser.stop(); await app.stop(); await idp.stop();
//
// The environment (set by tests/CMakeLists.txt): MASAD, MASACTL (the binaries under test),
// MASA_SOURCE_DIR (the source tree: web/ is served from there), MASA_SCREENSHOT_DIR (where
// screenshot() writes; default <source>/build/web-screenshots), CHROMIUM (default
// /usr/bin/chromium), OPENSSL (default openssl). By hand, after a build into build/:
//   cd tests/web && node --test auth.test.mjs
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core')) ||
    !fs.existsSync(path.join(here, 'node_modules', 'oidc-provider'))) {
  throw new Error(`${path.join(here, 'node_modules')} lacks playwright-core or oidc-provider: ` +
                  'run scripts/install-deps.sh (npm ci in tests/web) before the browser tests');
}
export const SOURCE_DIR = process.env.MASA_SOURCE_DIR || path.resolve(here, '..', '..');
export const MASAD = process.env.MASAD || path.join(SOURCE_DIR, 'build', 'tools', 'masad');
export const MASACTL = process.env.MASACTL || path.join(SOURCE_DIR, 'build', 'tools', 'masactl');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const OPENSSL = process.env.OPENSSL || 'openssl';
export const SCREENSHOT_DIR =
    process.env.MASA_SCREENSHOT_DIR || path.join(SOURCE_DIR, 'build', 'web-screenshots');

// Bounds of every wait: generous for a busy 2-core machine, but a hang still ends the test.
export const START_TIMEOUT_MS = 90_000;  // masad's ready line, the browser's start
export const STOP_TIMEOUT_MS = 30_000;   // SIGTERM -> exit, then SIGKILL
export const UI_TIMEOUT_MS = 30_000;     // playwright actions, waits and navigations

// No name resolves but localhost and 127.0.0.1: a request to any other host fails at once (the provider's
// development pages load a web font), and launch() records it in foreignRequests.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'];

function isLoopback(url) {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

// ---- process hygiene ---------------------------------------------------------------------

// Children still running when the test process ends (a failed before(), an uncaught error,
// the test runner's SIGTERM on a timeout) are killed, so no masad outlives its test.
const live = new Set();
function killLive() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
process.on('exit', killLive);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killLive();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// Resolves with the exit code (or 128 + signal) of `child`, or null after `ms`.
function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(exitCodeOf(child));
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(exitCodeOf(child));
    });
  });
}

function exitCodeOf(child) {
  if (child.exitCode !== null) return child.exitCode;
  return 128 + (os.constants.signals[child.signalCode] ?? 0);
}

// A port on 127.0.0.1 that was free a moment ago: for a server whose own URL must be
// known before it starts (masad's OIDC redirect_uri is registered with the provider).
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const {port} = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function tail(text, lines = 60) {
  return text.split('\n').slice(-lines).join('\n');
}

function readOrEmpty(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// Runs a program to its end: {code, stdout, stderr}. `input` goes to its stdin.
export function run(program, args, {env = process.env, input, timeoutMs = 120_000} = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {env, stdio: ['pipe', 'pipe', 'pipe']});
    live.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`cannot run ${program}: ${e.message}`));
    });
    child.once('close', () => {
      clearTimeout(timer);
      live.delete(child);
      resolve({code: exitCodeOf(child), stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString()});
    });
    child.stdin.end(input ?? '');
  });
}

// One HTTPS (or HTTP) request from node: {status, headers, text, json}. `ca` is a PEM to
// trust; the body is sent as JSON unless it is a string or Buffer.
export function request(url, {method = 'GET', headers = {}, body, ca} = {}) {
  const u = new URL(url);
  let data = null;
  const h = {...headers};
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      data = Buffer.from(body);
    } else {
      data = Buffer.from(JSON.stringify(body));
      h['Content-Type'] ??= 'application/json';
    }
    h['Content-Length'] = data.length;
  }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, {method, headers: h, ca, timeout: UI_TIMEOUT_MS}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: text only
        }
        resolve({status: res.statusCode, headers: res.headers, text, json});
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in time`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// ---- the appliance -----------------------------------------------------------------------

const VENDOR_ROLES = new Set(['account-team', 'support', 'security-officer']);

function tomlString(s) {
  return JSON.stringify(String(s));  // a TOML basic string: JSON's escapes are TOML's
}

function tomlValue(v) {
  return typeof v === 'string' ? tomlString(v) : String(v);
}

// A real masad on a fresh dev-init state (SoftHSM2 token, PKI, TLS), serving the source
// tree's web/ (when it exists) and, with `oidc` (what startIdp returned), "Sign in using
// SSO" through that provider. `web` and `oidcExtra` add keys to [web] and [oidc] (e.g.
// {session_idle_minutes: 1}). Resolves once masad printed its listening line.
//
// The answer:
//   url                 "https://127.0.0.1:PORT" (the browser's address of the daemon)
//   stateDir, caFile    the state folder and its TLS CA (tls-ca.pem)
//   masactl(args, {token, input, check = true}) -> {code, stdout, stderr}: `--state` is
//       added unless given (or the command takes none); `token` goes in $MASA_TOKEN, never
//       argv; a non-zero exit throws unless check is false
//   token(orgId, username, role, {grants}) -> the secret of a new API token of that person,
//       created on first use: a vendor role (account-team, support, security-officer) with
//       masactl vendor add; else in organization orgId ("org-NAME", created on first use
//       with its first admin admin@NAME.example, or `username` when role is admin) through
//       the REST API (POST /users, /bindings, /bindings/{id}/grants, /tokens)
//   principal(orgId, username) -> {principalId, orgId, username, role} of one made by token()
//   tokenInfo(secret) -> {tokenId, principalId, orgId, username} of a token token() minted
//       through the API (not of vendor roles' tokens, which masactl makes)
//   adminToken(orgId) -> the first admin's token of an organization made by token()
//   api(method, path, {token, body, headers}) -> {status, headers, text, json}: the REST
//       API over TLS, trusting the state's CA; `token` as Authorization: Bearer
//   log() -> masad's stderr so far
//   stop() -> SIGTERM, then the exit code; throws (with the log) unless masad exited 0
export async function startAppliance({oidc = null, web = {}, oidcExtra = {}} = {}) {
  for (const binary of [MASAD, MASACTL]) {
    if (!fs.existsSync(binary)) {
      throw new Error(`${binary} does not exist: build masad and masactl first, or set MASAD ` +
                      'and MASACTL');
    }
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'masa-web-'));
  const stateDir = path.join(root, 'state');
  const caFile = path.join(stateDir, 'tls-ca.pem');
  const logFile = path.join(stateDir, 'masad.log');
  const orgs = new Map();        // orgId -> {adminToken}
  const principals = new Map();  // `${orgId}/${username}` -> {principalId, orgId, username, role}
  const minted = new Map();      // token secret -> {tokenId, principalId, orgId, username}
  let masad = null;
  let stopped = false;

  const toolEnv = {...process.env};
  delete toolEnv.MASA_HSM_PIN;
  delete toolEnv.MASA_PKCS11_MODULE;
  delete toolEnv.MASA_TOKEN;

  async function masactl(args, {token, input, check = true} = {}) {
    const stateless = args.includes('--state') || args.includes('--help') ||
        (args[0] === 'voucher' && ['show', 'verify'].includes(args[1])) ||
        (args[0] === 'audit' && args[1] === 'check-proof');
    const full = stateless ? args : [...args, '--state', stateDir];
    const env = token === undefined ? toolEnv : {...toolEnv, MASA_TOKEN: token};
    const r = await run(MASACTL, full, {env, input});
    if (check && r.code !== 0) {
      throw new Error(`masactl ${full.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    }
    return r;
  }

  async function api(method, urlPath, {token, body, headers = {}} = {}) {
    const h = {...headers};
    if (token !== undefined) h.Authorization = `Bearer ${token}`;
    return request(new URL(urlPath, self.url).href, {method, headers: h, body,
      ca: fs.readFileSync(caFile)});
  }

  async function expectApi(method, urlPath, token, body, status) {
    const r = await api(method, urlPath, {token, body});
    if (r.status !== status) {
      throw new Error(`${method} ${urlPath}: ${r.status} (expected ${status}) ${r.text}`);
    }
    return r.json;
  }

  async function readSecret(file) {
    const secret = fs.readFileSync(file, 'utf8').trim();
    fs.rmSync(file, {force: true});
    return secret;
  }

  async function ensureOrg(orgId, firstAdmin) {
    if (orgs.has(orgId)) return orgs.get(orgId);
    if (!/^org-[a-z0-9-]+$/.test(orgId)) {
      throw new Error(`token(): an organization id is org-NAME (a-z, 0-9, -), not ${orgId}`);
    }
    const name = orgId.slice(4);
    const admin = firstAdmin ?? `admin@${name}.example`;
    const file = path.join(root, `${name}-admin.token`);
    await masactl(['org', 'create', '--name', name, '--admin', admin, '--token-out', file]);
    const org = {adminToken: await readSecret(file), admin};
    orgs.set(orgId, org);
    const roles = {principalId: null, orgId, username: admin, role: 'admin'};
    principals.set(`${orgId}/${admin}`, roles);
    return org;
  }

  async function token(orgId, username, role, {grants = []} = {}) {
    if (VENDOR_ROLES.has(role)) {
      const key = `vendor/${username}`;
      if (principals.has(key)) throw new Error(`token(): ${username} exists; one token each`);
      const file = path.join(root, `vendor-${principals.size}.token`);
      await masactl(['vendor', 'add', '--username', username, '--role', role, '--token-out', file]);
      const secret = await readSecret(file);
      const me = await expectApi('GET', '/auth/session', secret, undefined, 200)
          .catch(() => null);  // the profile when /auth/session exists
      principals.set(key, {principalId: me?.profile?.principal_id ?? null, orgId: 'vendor',
        username, role});
      return secret;
    }
    const org = await ensureOrg(orgId, role === 'admin' ? username : undefined);
    const key = `${orgId}/${username}`;
    let p = principals.get(key);
    if (p === undefined) {
      const user = await expectApi('POST', '/users', org.adminToken, {username}, 201);
      p = {principalId: user.principal.principal_id, orgId, username, role};
      const binding = await expectApi('POST', '/bindings', org.adminToken,
          {principal_id: p.principalId, group_id: orgId, role}, 201);
      for (const grant of grants) {
        await expectApi('POST', `/bindings/${binding.binding.binding_id}/grants`, org.adminToken,
            {grant}, 200);
      }
      principals.set(key, p);
    } else if (p.role !== role) {
      throw new Error(`token(): ${username} of ${orgId} is ${p.role}, not ${role}`);
    }
    if (p.principalId === null) {
      // The organization's first admin (made by masactl): its id from the principals list.
      const list = await expectApi('GET', '/principals', org.adminToken, undefined, 200);
      const found = (list.principals ?? []).find((x) => x.username === username ||
                                                        x.name === username);
      p.principalId = found?.principal_id ?? null;
    }
    const made = await expectApi('POST', '/tokens', org.adminToken,
        {principal_id: p.principalId, validity_days: 1, description: `browser test ${username}`},
        201);
    minted.set(made.token.secret, {tokenId: made.token.token_id, principalId: p.principalId,
      orgId, username});
    return made.token.secret;
  }

  async function stop() {
    if (stopped) return 0;
    stopped = true;
    if (masad === null) return 0;
    masad.kill('SIGTERM');
    let code = await waitExit(masad, STOP_TIMEOUT_MS);
    if (code === null) {
      masad.kill('SIGKILL');
      code = await waitExit(masad, STOP_TIMEOUT_MS);
    }
    live.delete(masad);
    if (code !== 0) {
      throw new Error(`masad exited ${code} on SIGTERM (state kept in ${root}):\n` +
                      tail(readOrEmpty(logFile)));
    }
    fs.rmSync(root, {recursive: true, force: true});
    return code;
  }

  const self = {url: '', port: 0, root, stateDir, caFile, masactl, token, api,
    principal: (orgId, username) => principals.get(`${orgId}/${username}`),
    tokenInfo: (secret) => minted.get(secret),
    adminToken: (orgId) => orgs.get(orgId)?.adminToken,
    log: () => readOrEmpty(logFile), stop};

  try {
    await masactl(['dev-init', '--state', stateDir]);
    // masad's own address must be known before it starts when it is an OIDC relying party.
    const port = oidc ? await freePort() : 0;
    let toml = '';
    const webRoot = path.join(SOURCE_DIR, 'web');
    if (fs.existsSync(webRoot) || Object.keys(web).length > 0) {
      toml += `\n[web]\nroot = ${tomlString(webRoot)}\n`;
      for (const [k, v] of Object.entries(web)) toml += `${k} = ${tomlValue(v)}\n`;
    }
    if (oidc) {
      const redirectUri = `https://127.0.0.1:${port}/auth/oidc/callback`;
      const client = await oidc.register(redirectUri);
      const secretFile = path.join(stateDir, 'oidc-client.secret');
      fs.writeFileSync(secretFile, client.clientSecret, {mode: 0o600});
      toml += `\n[oidc]\nissuer = ${tomlString(oidc.issuer)}\n` +
              `client_id = ${tomlString(client.clientId)}\n` +
              `client_secret_file = ${tomlString(secretFile)}\n` +
              `redirect_uri = ${tomlString(redirectUri)}\nname = "SSO"\n`;
      for (const [k, v] of Object.entries(oidcExtra)) toml += `${k} = ${tomlValue(v)}\n`;
    }
    fs.appendFileSync(path.join(stateDir, 'masad.toml'), toml);

    const log = fs.openSync(logFile, 'a');
    masad = spawn(MASAD, ['--config', path.join(stateDir, 'masad.toml'), '--listen',
      `127.0.0.1:${port}`, '--metrics-listen', '', '--grpc-listen', ''],
    {env: toolEnv, stdio: ['ignore', 'pipe', log]});
    fs.closeSync(log);
    live.add(masad);
    self.url = await new Promise((resolve, reject) => {
      const lines = readline.createInterface({input: masad.stdout});
      const timer = setTimeout(() => reject(new Error(
          `masad printed no listening line in ${START_TIMEOUT_MS / 1000} s:\n` +
          tail(readOrEmpty(logFile)))), START_TIMEOUT_MS);
      lines.on('line', (line) => {
        const m = /^masad listening on (https:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      masad.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`masad exited ${exitCodeOf(masad)} before it was ready:\n` +
                         tail(readOrEmpty(logFile))));
      });
    });
    masad.stdout.resume();  // later lines are not read; keep the pipe from filling
    self.port = Number(new URL(self.url).port);
    return self;
  } catch (e) {
    if (masad !== null) {
      masad.kill('SIGKILL');
      await waitExit(masad, STOP_TIMEOUT_MS);
      live.delete(masad);
    }
    fs.rmSync(root, {recursive: true, force: true});
    throw e;
  }
}

// ---- the OpenID provider -----------------------------------------------------------------

// A real OpenID provider (npm oidc-provider) on http://127.0.0.1:PORT, for `users` (each
// {sub, email, email_verified = true}: the ID token carries email and email_verified). One
// confidential client "masa" (client_secret_basic, authorization code, PKCE required) whose
// redirect_uri startAppliance registers (register(uri) -> {clientId, clientSecret}).
// Signing in uses the provider's development pages (any password); login(page, sub) fills
// them: the login form, then the consent form when the provider asks for it.
export async function startIdp({users = []} = {}) {
  const {default: Provider} = await import('oidc-provider');
  const accounts = new Map(users.map((u) => [u.sub, u]));
  const clientId = 'masa';
  const clientSecret = crypto.randomBytes(24).toString('base64url');
  const {privateKey} = crypto.generateKeyPairSync('rsa', {modulusLength: 2048});
  const jwk = {...privateKey.export({format: 'jwk'}), kid: 'test-rs256', alg: 'RS256', use: 'sig'};
  const cookieKey = crypto.randomBytes(32).toString('base64url');
  const redirectUris = [];
  let handler = null;

  const server = http.createServer((req, res) => {
    if (handler === null) {
      res.writeHead(503, {'Content-Type': 'text/plain'});
      res.end('no client registered yet');
      return;
    }
    handler(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  function build() {
    const provider = new Provider(issuer, {
      clients: [{client_id: clientId, client_secret: clientSecret,
        redirect_uris: [...redirectUris], grant_types: ['authorization_code'],
        response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic'}],
      pkce: {required: () => true},
      claims: {openid: ['sub'], email: ['email', 'email_verified']},
      // The scope's claims in the ID token itself, where the relying party reads them.
      conformIdTokenClaims: false,
      cookies: {keys: [cookieKey]},
      jwks: {keys: [jwk]},
      features: {devInteractions: {enabled: true}},
      ttl: {Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 120,
        AccessToken: 600, IdToken: 600},
      async findAccount(_ctx, sub) {
        const user = accounts.get(sub);
        if (user === undefined) return undefined;
        return {accountId: sub, async claims() {
          return {sub, email: user.email, email_verified: user.email_verified ?? true};
        }};
      },
    });
    // The provider's warnings about its development defaults go nowhere: they are expected.
    provider.on('server_error', (_ctx, e) => process.stderr.write(`idp: ${e.stack}\n`));
    handler = provider.callback();
  }

  return {
    issuer,
    clientId,
    async register(redirectUri) {
      if (!redirectUris.includes(redirectUri)) redirectUris.push(redirectUri);
      build();
      return {clientId, clientSecret};
    },
    // On the provider's login page (after the browser followed "Sign in using SSO"): signs
    // in as `sub` and gives consent if asked. Resolves once the browser left the provider.
    async login(page, sub) {
      const login = page.locator('input[name="login"]');
      await login.waitFor({timeout: UI_TIMEOUT_MS});
      await login.fill(sub);
      await page.locator('input[name="password"]').fill('any password');
      await page.locator('button[type="submit"]').click();
      // Then either the consent form or, when nothing more is asked, the way back.
      const consent = page.locator('input[name="prompt"][value="consent"]');
      const leftIdp = page.waitForURL((u) => !u.href.startsWith(issuer), {timeout: UI_TIMEOUT_MS});
      const consentShown = consent.waitFor({state: 'attached', timeout: UI_TIMEOUT_MS})
          .then(() => true, () => false);
      if (await Promise.race([leftIdp.then(() => false), consentShown])) {
        await page.locator('button[type="submit"]').click();
      }
      await leftIdp;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---- the browser -------------------------------------------------------------------------

// Debian's Chromium, headless, through playwright-core (which never downloads a browser).
// page(options) -> a page in a new context (its own cookies) with ignoreHTTPSErrors for the
// appliance's test CA, a 1280x800 viewport and UI_TIMEOUT_MS as every wait's bound; the
// page's uncaught errors and console errors (a CSP violation among them; not the failed
// loads) go to stderr.
// foreignRequests lists every URL a page asked for on a host other than loopback (http,
// https and ws only), for tests that check the application talks to no other host.
export async function launch() {
  const {chromium} = await import('playwright-core');
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} does not exist: install Debian's chromium ` +
                    '(scripts/install-deps.sh)');
  }
  const browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
    args: CHROMIUM_ARGS, timeout: START_TIMEOUT_MS});
  const contexts = [];
  const foreignRequests = [];
  return {
    browser,
    foreignRequests,
    async page(options = {}) {
      const context = await browser.newContext({ignoreHTTPSErrors: true,
        viewport: {width: 1280, height: 800}, ...options});
      context.setDefaultTimeout(UI_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
      contexts.push(context);
      context.on('request', (r) => {
        if (/^(https?|wss?):/.test(r.url()) && !isLoopback(r.url())) foreignRequests.push(r.url());
      });
      const page = await context.newPage();
      page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
      page.on('console', (m) => {
        // Not the failed loads: the application's expected 401s and 403s, the provider's font.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
          process.stderr.write(`page console: ${m.text()}\n`);
        }
      });
      return page;
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

// Signs in on the sign-in page with an API token: `url` opened, the token typed into the
// token field and sent. Resolves once the sign-in page is gone: 'licence' when the licence
// terms are shown (accepted at once with {acceptLicence: true}), else 'signed-in' (the top
// bar's sign-out button is there).
export async function signInWithToken(page, url, token, {acceptLicence = false} = {}) {
  await page.goto(url);
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('token-sign-in').click();
  const licence = page.getByTestId('licence-accept');
  const signOut = page.getByTestId('sign-out');
  await Promise.race([licence.waitFor(), signOut.waitFor()]);
  if (await licence.isVisible()) {
    if (!acceptLicence) return 'licence';
    await licence.click();
    await signOut.waitFor();
  }
  return 'signed-in';
}

// Writes the page as $MASA_SCREENSHOT_DIR/<name>.png (the whole page); returns the path.
// docs/screenshots/ holds the copies the README shows.
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, {recursive: true});
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}
