// Where a person was going when the portal sent them to sign in or register (e.g. "apply for this
// procedure"): carried as `?next=` through sign-in, registration and verification, and kept in
// localStorage for a day so that the emailed link, opened in another tab, still leads back there.
// Only a path of this site is ever followed (never an address elsewhere: no open redirect).
const KEY = 'motcua.intent';
const DAY_MS = 24 * 60 * 60 * 1000;

export function safeNext(next) {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : null;
}

/** The path to go to after signing in: `?next=` of this address, else the one kept, else null. */
export function intent(query) {
  const asked = safeNext(query?.get('next'));
  if (asked) return asked;
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (kept && Date.now() - kept.at < DAY_MS) return safeNext(kept.next);
  } catch {
    // storage refused or garbled: no intent
  }
  return null;
}

export function rememberIntent(next) {
  const path = safeNext(next);
  if (!path) return;
  try {
    localStorage.setItem(KEY, JSON.stringify({ next: path, at: Date.now() }));
  } catch {
    // the ?next= in the address still carries it
  }
}

export function forgetIntent() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}

/** `path` with `?next=` (or `&next=`) added when there is somewhere to go back to. */
export function withNext(path, next) {
  const safe = safeNext(next);
  if (!safe) return path;
  return `${path}${path.includes('?') ? '&' : '?'}next=${encodeURIComponent(safe)}`;
}

/** The procedure code when `next` is the apply step of a procedure (`/procedures/CODE?apply=1`). */
export function applyingFor(next) {
  const found = /^\/procedures\/([^/?#]+)\?apply=1$/.exec(safeNext(next) || '');
  return found ? decodeURIComponent(found[1]) : null;
}
