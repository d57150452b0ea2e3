// A small history-API router: the gateway answers index.html for every portal path, and this
// picks the page. After each page renders, focus goes to its heading so screen readers and
// keyboard users start at the new content, and the document title names the page.
import { fill, h } from './dom.js';
import { t } from './i18n.js';
import { session, signOut } from './session.js';

const routes = [];
let cleanup = null;
let rendering = 0;
let first = true; // the first page of a visit keeps the browser's own focus (at the top)

/** route('/applications/:id/form', page): `page(ctx)` renders into ctx.main. */
export function route(pattern, page) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, page });
}

function match(pathname) {
  for (const { regex, names, page } of routes) {
    const found = regex.exec(pathname);
    if (found) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
      return { page, params };
    }
  }
  return null;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) window.history.replaceState({}, '', url);
  else window.history.pushState({}, '', url);
  return render();
}

export function setTitle(text) {
  document.title = `${text} — ${t('brand.name')}`;
}

let notFound = null;
export function fallback(page) {
  notFound = page;
}

/** Render the page of the current address; `keepFocus` when only the language changed. */
export async function render({ keepFocus = false } = {}) {
  const ticket = ++rendering;
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    try {
      await done();
    } catch {
      // leaving a page never blocks the next one
    }
  }
  const main = document.getElementById('main');
  const { pathname, search } = window.location;
  const found = match(pathname);
  const ctx = { main, params: found?.params || {}, query: new URLSearchParams(search), isCurrent: () => ticket === rendering };
  fill(main, h('p', { class: 'loading', role: 'status' }, t('common.loading')));
  try {
    const result = await (found ? found.page : notFound)(ctx);
    if (ticket !== rendering) return;
    if (typeof result === 'function') cleanup = result;
  } catch (error) {
    if (ticket !== rendering) return;
    if (error && error.status === 401) {
      // the session ended (refresh refused): sign in again, then come back here
      if (session()) signOut();
      navigate(`/login?next=${encodeURIComponent(pathname + search)}`, { replace: true });
      return;
    }
    fill(main, h('h1', { tabindex: '-1' }, t('error.title')), h('p', { role: 'alert' }, describe(error)));
    setTitle(t('error.title'));
  }
  const target = window.location.hash && document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
  if (target && !keepFocus) {
    // a link to one field (from an error list) lands on that field
    target.scrollIntoView({ block: 'center' });
    target.focus();
  } else if (!keepFocus && !first) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
  first = false;
  document.dispatchEvent(new CustomEvent('portal:rendered'));
}

function describe(error) {
  if (error && error.name === 'NetworkError') return t('error.network');
  if (error && error.status === 404) return t('error.not_found');
  if (error && error.status === 410) return t('error.gone');
  if (error && error.status === 503) return t('error.busy');
  return t('error.generic');
}

/** Links inside the portal change the page without reloading it. */
export function start() {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    const link = event.target.closest('a[href]');
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || /^\/(v1|\.well-known|openapi\.json|docs)(\/|$)/.test(url.pathname)) {
      return;
    }
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener('popstate', () => render());
  return render();
}
