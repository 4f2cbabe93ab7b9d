// The REST API as the web application calls it: same origin, the session cookie (which
// JavaScript never sees), the CSRF token on every state-changing call, and problem+json
// answers turned into ApiError.

let csrfToken = '';
let unauthenticatedHandler = null;

// The session's CSRF token (GET /auth/session, POST /auth/token answer it); '' forgets it.
export function setCsrfToken(token) {
  csrfToken = token || '';
}

// Called (once per failing call) when the API answers 401 to a call other than /auth/*:
// the session ended, expired, was idle too long, or its principal was disabled.
export function onUnauthenticated(handler) {
  unauthenticatedHandler = handler;
}

// An API error: the HTTP status and the RFC 9457 problem members. `field` names the
// request member the error concerns: the problem's own "field" member when the server
// sends one, else the name the detail starts with ("serial_numbers: ...",
// "query parameter status: ...", "pdc, cert_id: ..." gives "pdc"), else ''.
export class ApiError extends Error {
  constructor({status = 0, type = 'about:blank', title = '', detail = '', field = ''} = {}) {
    super(detail || title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = detail;
    this.field = field || fieldOf(detail);
  }
}

const FIELD_PREFIX = /^(?:query parameter )?([a-z_][a-z0-9_]*)(?:\[\d+\])?(?:\.[a-z0-9_.[\]]+)?(?:, [a-z_]+)*(?: \(path\))?: /;

// The request member a detail message starts with, or ''.
export function fieldOf(detail) {
  const m = FIELD_PREFIX.exec(detail || '');
  return m ? m[1] : '';
}

async function send(method, path, body) {
  const headers = {Accept: 'application/json, application/problem+json'};
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError({status: 0, title: 'Network error',
      detail: 'The appliance could not be reached. Check your connection and try again.'});
  }
  if (!response.ok) throw await errorOf(response, path);
  return response;
}

async function errorOf(response, path) {
  let problem = {};
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      problem = await response.json();
    } catch (e) {
      problem = {};
    }
  }
  const error = new ApiError({
    status: response.status,
    type: typeof problem.type === 'string' ? problem.type : 'about:blank',
    title: typeof problem.title === 'string' ? problem.title : response.statusText,
    detail: typeof problem.detail === 'string' ? problem.detail
      : `The server answered ${response.status} ${response.statusText}.`,
    field: typeof problem.field === 'string' ? problem.field : '',
  });
  if (response.status === 401 && !path.startsWith('/auth/') && unauthenticatedHandler) {
    unauthenticatedHandler(error);
  }
  return error;
}

// Calls the API: `body` (any JSON value) is sent as JSON. Answers the parsed JSON, or null
// for an answer without a body (204). Throws ApiError.
export async function api(method, path, body) {
  const response = await send(method, path, body);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

// Downloads a file (GET): a File (a Blob with the name of the Content-Disposition header,
// or `fallbackName`). Throws ApiError.
export async function apiBlob(path, fallbackName = 'download') {
  const response = await send('GET', path);
  const blob = await response.blob();
  const name = fileNameOf(response.headers.get('Content-Disposition')) || fallbackName;
  return new File([blob], name, {type: blob.type});
}

// The file name of a Content-Disposition header (filename*=UTF-8'' or filename=), reduced
// to characters that are safe in a file name.
export function fileNameOf(header) {
  if (!header) return '';
  let name = '';
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      name = decodeURIComponent(star[1].trim());
    } catch (e) {
      name = '';
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
    if (plain) name = plain[1].trim();
  }
  return name.replace(/[\\/\x00-\x1f"]/g, '_').slice(0, 200);
}

// A query string from an object, leaving out undefined, null and '' values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
