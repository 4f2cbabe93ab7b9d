// The web application's shell: boot (the session, else the sign-in page; the licence terms
// on first sign-in), the top bar, the navigation the person's permissions allow, sign-out,
// and the hash router that loads each page from pages/<name>.js.
import {api, apiBlob, onUnauthenticated, setCsrfToken} from './api.js';
import {el, field, messageOf, replace, toast} from './dom.js';

// The pages: route name -> navigation label and who sees the link. A page without `nav`
// has no link (it is reached from another page; `under` names the link marked current). `allowed(profile)` decides the link
// only; the service decides every call the page makes.
const has = (profile, ...permissions) => permissions.some((p) => profile.permissions.includes(p));
export const ROUTES = {
  'home': {nav: 'Home', allowed: () => true},
  'voucher': {under: 'home'},  // a voucher's page belongs to the home page's table
  'settings': {nav: 'Settings', allowed: () => true},
  'admin': {nav: 'Admin', allowed: (p) => has(p, 'admin')},
  'account-team': {nav: 'Account team', allowed: (p) => has(p, 'assign-serials', 'view-all-organizations')},
  'keys': {nav: 'Signing keys', allowed: (p) => has(p, 'keys')},
};
const DEFAULT_ROUTE = 'home';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');

let session = null;      // the session document of GET /auth/session
let renderCount = 0;     // the newest navigation; older renders stop writing
let returnTo = '';       // the hash to go back to after signing in again

// ---------------------------------------------------------------------------------------
// Boot

async function boot() {
  const skip = document.getElementById('skip-link');
  if (skip) {
    skip.addEventListener('click', (e) => {
      e.preventDefault();
      main.focus();
    });
  }
  onUnauthenticated(() => {
    if (session) signedOut('Your session has ended (signed out elsewhere, expired, idle too long, or your access changed). Sign in again to continue.');
  });
  window.addEventListener('hashchange', () => {
    if (session && session.licence_ok) route();
  });
  let doc = null;
  try {
    doc = await api('GET', '/auth/session');
  } catch (e) {
    if (e.status !== 401) {
      showSignIn(`The appliance did not answer as expected: ${messageOf(e)}`);
      return;
    }
  }
  if (doc) {
    await start(doc);
  } else {
    showSignIn('');
  }
}

// A session document came (GET /auth/session or POST /auth/token): the licence terms when
// this version was never accepted, else the application.
async function start(doc) {
  session = doc;
  setCsrfToken(doc.csrf_token);
  const licence = doc.licence || {accepted: true};
  if (!licence.accepted) {
    session.licence_ok = false;
    await showLicence();
    return;
  }
  session.licence_ok = true;
  showShell();
  if (returnTo && returnTo !== location.hash) {
    location.hash = returnTo;  // the hashchange routes
    returnTo = '';
    return;
  }
  returnTo = '';
  route();
}

function signedOut(message) {
  if (session && location.hash.startsWith('#/')) returnTo = location.hash;
  session = null;
  setCsrfToken('');
  showSignIn(message);
}

function setMain(...children) {
  renderCount += 1;
  main.removeAttribute('aria-busy');
  replace(main, ...children);
}

// ---------------------------------------------------------------------------------------
// Sign-in

async function showSignIn(message) {
  topbar.hidden = true;
  topbar.replaceChildren();
  document.title = 'Sign in · MASA';
  let config = {oidc: false, token_sign_in: true, oidc_name: 'SSO'};
  try {
    config = {...config, ...(await api('GET', '/auth/config'))};
  } catch (e) {
    message = message || `Sign-in options could not be loaded: ${messageOf(e)}`;
  }
  const card = el('section', {class: 'card auth-card', 'aria-labelledby': 'signin-title', 'data-testid': 'sign-in'},
    el('div', {class: 'brand brand-large'},
      el('img', {src: '/assets/img/logo.svg', alt: '', width: 40, height: 40}),
      el('span', {text: 'MASA'})),
    el('h1', {id: 'signin-title', tabindex: -1, text: 'Sign in'}),
    el('p', {class: 'muted', text: 'Ownership vouchers for your devices.'}),
    message ? el('p', {class: 'notice', role: 'status', 'data-testid': 'sign-in-message', text: message}) : null);
  if (config.oidc) {
    card.append(el('a', {class: 'button primary block', href: '/auth/oidc/login', 'data-testid': 'sso-sign-in',
      text: `Sign in using ${config.oidc_name || 'SSO'}`}));
  }
  if (config.token_sign_in !== false) {
    if (config.oidc) card.append(el('p', {class: 'divider'}, el('span', {text: 'or'})));
    card.append(tokenForm(config.oidc));
  }
  setMain(el('div', {class: 'auth-page'}, card));
  const focusTarget = card.querySelector('a.button, input');
  if (focusTarget) focusTarget.focus();
}

function tokenForm(secondary) {
  const input = el('input', {type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    required: true, 'data-testid': 'token-input'});
  const f = field('API token', input, {hint: 'A token that starts with masa_: made in Settings, or by masactl for the first administrator.', testid: 'token'});
  const submit = el('button', {type: 'submit', class: secondary ? 'block' : 'primary block',
    'data-testid': 'token-sign-in', text: 'Sign in with token'});
  const form = el('form', {class: 'stack', novalidate: true}, f.wrapper, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    f.setError('');
    const token = input.value.trim();
    if (!token) {
      f.setError('Enter your API token.');
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      const doc = await api('POST', '/auth/token', {token});
      input.value = '';
      await start(doc);
    } catch (err) {
      f.setError(err.status === 401 || err.status === 403 || err.status === 400
        ? `${messageOf(err)}` : `Sign-in failed: ${messageOf(err)}`);
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// ---------------------------------------------------------------------------------------
// Licence terms

async function showLicence() {
  topbar.hidden = true;
  document.title = 'Licence terms · MASA';
  let licence;
  try {
    licence = await api('GET', '/auth/licence');
  } catch (e) {
    setMain(el('div', {class: 'auth-page'}, el('section', {class: 'card'},
      el('h1', {text: 'Licence terms'}),
      el('p', {class: 'error-text', role: 'alert', text: `The licence terms could not be loaded: ${messageOf(e)}`}))));
    return;
  }
  const error = el('p', {class: 'error-text', role: 'alert', hidden: true, 'data-testid': 'licence-error'});
  const accept = el('button', {type: 'button', class: 'primary', 'data-testid': 'licence-accept', text: 'Accept'});
  const decline = el('button', {type: 'button', 'data-testid': 'licence-decline', text: 'Decline and sign out'});
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    error.hidden = true;
    try {
      await api('POST', '/auth/licence', {version: licence.version});
      const doc = await api('GET', '/auth/session');
      if (doc.licence) doc.licence.accepted = true;
      await start(doc);
    } catch (e) {
      error.textContent = `Your acceptance could not be recorded: ${messageOf(e)}`;
      error.hidden = false;
      accept.disabled = false;
    }
  });
  decline.addEventListener('click', () => signOut('You declined the licence terms and are signed out.'));
  const name = session && session.profile ? session.profile.name : '';
  setMain(el('div', {class: 'auth-page'},
    el('section', {class: 'card licence-card', 'aria-labelledby': 'licence-title', 'data-testid': 'licence'},
      el('h1', {id: 'licence-title', tabindex: -1, text: 'Licence terms'}),
      el('p', {class: 'muted', text: `${name ? `${name}, please` : 'Please'} read and accept the terms of use before you continue. Your acceptance is recorded in the audit log.`}),
      el('pre', {class: 'licence-text', tabindex: 0, 'aria-label': 'Licence text', 'data-testid': 'licence-text', text: licence.text}),
      el('p', {class: 'muted small', text: `Version ${String(licence.version).slice(0, 12)}`}),
      error,
      el('div', {class: 'actions'}, decline, accept))));
  main.querySelector('h1').focus();
}

// ---------------------------------------------------------------------------------------
// The application: top bar, navigation, pages

function showShell() {
  const p = session.profile;
  const nav = el('nav', {class: 'nav', 'aria-label': 'Main'},
    el('ul', {}, Object.entries(ROUTES).filter(([, r]) => r.nav && r.allowed(p)).map(([name, r]) =>
      el('li', {}, el('a', {href: `#/${name}`, 'data-route': name, 'data-testid': `nav-${name}`, text: r.nav})))));
  const signOutButton = el('button', {type: 'button', class: 'quiet', 'data-testid': 'sign-out', text: 'Sign out',
    onclick: () => signOut('You are signed out.')});
  const who = el('div', {class: 'who'},
    el('span', {class: 'org', 'data-testid': 'organization'},
      el('span', {class: 'visually-hidden', text: 'Organization: '}), p.organization_id,
      p.vendor ? el('span', {class: 'badge badge-vendor', text: 'vendor'}) : null),
    el('span', {class: 'user', 'data-testid': 'user-name'},
      el('span', {class: 'visually-hidden', text: 'Signed in as '}), p.name),
    signOutButton);
  replace(topbar,
    el('a', {class: 'brand', href: `#/${DEFAULT_ROUTE}`, 'aria-label': 'MASA home'},
      el('img', {src: '/assets/img/logo.svg', alt: '', width: 28, height: 28}),
      el('span', {text: 'MASA'})),
    nav, who);
  topbar.hidden = false;
}

async function signOut(message) {
  try {
    await api('POST', '/auth/logout');
  } catch (e) {
    // The session is gone either way (already ended, or the server will time it out).
  }
  returnTo = '';
  session = null;
  setCsrfToken('');
  showSignIn(message);
}

// The route of the current hash: {name, args, params}. '#/voucher/ID?x=1' is
// {name: 'voucher', args: ['ID'], params: URLSearchParams('x=1')}.
export function parseHash(hash) {
  const text = hash.startsWith('#/') ? hash.slice(2) : '';
  const q = text.indexOf('?');
  const path = q < 0 ? text : text.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : text.slice(q + 1));
  const parts = path.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s;
    }
  });
  return {name: parts[0] || DEFAULT_ROUTE, args: parts.slice(1), params};
}

function navigate(hash) {
  if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

async function route() {
  if (!location.hash.startsWith('#/')) {
    history.replaceState(null, '', `#/${DEFAULT_ROUTE}`);
  }
  const {name, args, params} = parseHash(location.hash);
  const current = Object.hasOwn(ROUTES, name) ? ROUTES[name].under || name : name;
  for (const a of topbar.querySelectorAll('nav a')) {
    if (a.dataset.route === current) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
  const container = el('div', {class: 'page', 'data-page': name});
  setMain(container);
  const mine = renderCount;
  main.setAttribute('aria-busy', 'true');
  if (!Object.hasOwn(ROUTES, name)) {
    container.append(notFound(`There is no page “${name}”.`));
    main.removeAttribute('aria-busy');
    return;
  }
  const ctx = {
    profile: session.profile,
    session,
    api,
    apiBlob,
    navigate,
    params,
    args,
    can: (permission) => session.profile.permissions.includes(permission),
    toast,
  };
  try {
    const page = await import(`./pages/${name}.js`);
    if (mine !== renderCount) return;
    await page.render(container, ctx);
  } catch (e) {
    if (mine !== renderCount) return;
    if (e && e.status === 401) return;  // the sign-in page is already showing
    container.replaceChildren(el('section', {class: 'card'},
      el('h1', {text: 'This page could not be shown'}),
      el('p', {class: 'error-text', role: 'alert', 'data-testid': 'page-error', text: messageOf(e)}),
      el('p', {}, el('a', {href: `#/${DEFAULT_ROUTE}`, text: 'Back to the home page'}))));
  }
  if (mine !== renderCount) return;
  main.removeAttribute('aria-busy');
  const heading = container.querySelector('h1');
  document.title = `${heading ? heading.textContent : ROUTES[name].nav || name} · MASA`;
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({preventScroll: true});
  }
}

function notFound(message) {
  return el('section', {class: 'card'},
    el('h1', {text: 'Page not found'}),
    el('p', {text: message}),
    el('p', {}, el('a', {href: `#/${DEFAULT_ROUTE}`, text: 'Back to the home page'})));
}

boot();
