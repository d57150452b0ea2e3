// Tokens live in memory and in sessionStorage: they survive a reload of this tab, end with the tab,
// and are not shared with other tabs or left on the device for the next person (localStorage would).

const KEY = 'motcua.session';
const listeners = new Set();
let current = load();

function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return saved && saved.access_token && saved.refresh_token ? saved : null;
  } catch {
    return null;
  }
}

function decode(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export function session() {
  return current;
}

/** Keep the tokens of a sign-in or a refresh. */
export function signIn(tokens) {
  const claims = decode(tokens.access_token);
  const expiresAt = claims.exp ? claims.exp * 1000 : Date.now() + (tokens.expires_in || 300) * 1000;
  current = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: expiresAt,
    account: current?.account || null,
  };
  save();
}

export function rememberAccount(account) {
  if (!current) return;
  current.account = account;
  save();
}

export function signOut() {
  current = null;
  sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(null));
}

function save() {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // storage refused: the session lasts as long as this page
  }
  listeners.forEach((fn) => fn(current));
}

export function onSessionChange(fn) {
  listeners.add(fn);
}

/** What the access token says about its holder (read for the UI only; services verify it). */
export function claims() {
  return current ? decode(current.access_token) : {};
}

export function hasRole(role) {
  const roles = claims().roles || [];
  return roles.includes(role);
}

export function expiresSoon(marginMs = 20000) {
  return !current || current.expires_at - Date.now() < marginMs;
}
