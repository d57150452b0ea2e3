// The one way the portal talks to the gateway: JSON in and out, problem details turned into
// ApiError, and an access token refreshed (once, shared by every caller) when it lapses. A "busy"
// answer (503 with Retry-After) is waited out in the waiting room and sent again (waiting.js).
import { expiresSoon, session, signIn, signOut } from './session.js';
import { patiently } from './waiting.js';

const TIMEOUT_MS = 30000;

export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.headers = headers;
    this.name = 'ApiError';
  }

  /** `{pointer: message}` from the problem's `errors` list. */
  get fieldErrors() {
    const found = {};
    for (const e of this.problem.errors || []) {
      if (e && typeof e.pointer === 'string' && !(e.pointer in found)) found[e.pointer] = String(e.message || '');
    }
    return found;
  }

  /** Seconds to wait, from Retry-After. */
  get retryAfter() {
    const value = Number(this.headers?.get?.('Retry-After'));
    return Number.isFinite(value) && value > 0 ? value : null;
  }
}

/** The network did not answer at all (offline, the gateway unreachable, a time-out). */
export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NetworkError';
  }
}

let refreshing = null;

/** New tokens for the refresh token; concurrent callers share one request, since a refresh
 * token works once and presenting it twice would end the whole session. */
export function refreshTokens() {
  if (!refreshing) {
    const current = session();
    refreshing = (async () => {
      if (!current) return false;
      try {
        const post = () => fetch('/v1/auth/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ refresh_token: current.refresh_token }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        // busy is no reason to sign anyone out: a refused refresh did nothing, the token still works once
        const response = await patiently(await post(), post);
        if (!response.ok) {
          if (response.status === 401) signOut();
          return false;
        }
        signIn(await response.json());
        return true;
      } catch {
        return false;
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function authHeader() {
  if (!session()) return {};
  if (expiresSoon()) await refreshTokens();
  const current = session();
  return current ? { Authorization: `Bearer ${current.access_token}` } : {};
}

async function readBody(response) {
  const type = response.headers.get('Content-Type') || '';
  if (response.status === 204) return null;
  if (type.includes('json')) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * api('/v1/x', {method, body, headers, contentType, auth}) -> {status, body, etag, headers}.
 * Throws ApiError for an answer that is not 2xx, NetworkError when nothing answered.
 */
export async function api(path, options = {}) {
  const { method = 'GET', body, headers = {}, contentType = 'application/json', auth = true } = options;
  const send = async () => {
    const all = { Accept: 'application/json', ...headers, ...(auth ? await authHeader() : {}) };
    if (body !== undefined) all['Content-Type'] = contentType;
    try {
      return await fetch(path, {
        method,
        headers: all,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
        cache: 'no-store',
      });
    } catch (error) {
      throw new NetworkError(error.message);
    }
  };
  let response = await patiently(await send(), send);
  if (response.status === 401 && auth && session() && (await refreshTokens())) {
    response = await patiently(await send(), send);
  }
  const parsed = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, parsed, response.headers);
  return { status: response.status, body: parsed, etag: response.headers.get('ETag'), headers: response.headers };
}

function xhrUpload(path, form, onProgress, token) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let parsed;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = null;
      }
      const headers = { get: (name) => xhr.getResponseHeader(name) };
      resolve({ status: xhr.status, body: parsed, headers });
    });
    xhr.addEventListener('error', () => reject(new NetworkError('upload failed')));
    xhr.addEventListener('abort', () => reject(new NetworkError('upload aborted')));
    xhr.addEventListener('timeout', () => reject(new NetworkError('upload timed out')));
    xhr.send(form);
  });
}

/** Upload a multipart form with progress (fetch cannot report upload progress; XHR can). */
export async function upload(path, form, onProgress = () => {}) {
  const again = async () => {
    onProgress(0);
    return xhrUpload(path, form, onProgress, (await authHeader()).Authorization?.slice(7));
  };
  let answer = await patiently(await xhrUpload(path, form, onProgress, (await authHeader()).Authorization?.slice(7)),
    again);
  if (answer.status === 401 && session() && (await refreshTokens())) {
    answer = await patiently(await again(), again);
  }
  if (answer.status < 200 || answer.status >= 300) throw new ApiError(answer.status, answer.body, answer.headers);
  return answer.body;
}

/** Download a file that needs the Authorization header, and hand it to the browser to save. */
/** A file of the API as a Blob, fetched with the token (refreshed once on a 401, patient when busy). */
export async function fetchBlob(path, headers = {}) {
  const send = async () => fetch(path, { headers: { ...(await authHeader()), ...headers }, cache: 'no-store' });
  let response;
  try {
    response = await patiently(await send(), send);
    if (response.status === 401 && (await refreshTokens())) response = await patiently(await send(), send);
  } catch (error) {
    throw new NetworkError(error.message);
  }
  if (!response.ok) throw new ApiError(response.status, await readBody(response), response.headers);
  return response.blob();
}

export async function download(path, filename, headers = {}) {
  const url = URL.createObjectURL(await fetchBlob(path, headers));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename || 'document';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
