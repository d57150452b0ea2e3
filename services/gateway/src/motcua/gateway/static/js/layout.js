// The frame around every page: skip link, header with navigation, language switch and account,
// the connection banner and the footer. Redrawn when the language or the session changes.
import { api } from './api.js';
import { fill, h } from './dom.js';
import { currentLocale, setLocale, t } from './i18n.js';
import { navigate } from './router.js';
import { hasRole, session, signOut } from './session.js';

let unread = 0;
let menuOpen = false; // the phone menu (narrow screens only; CSS shows the navigation on wider ones)
let menuPath = null;

/** The logo already on the page (index.html draws the frame before any script runs): reused on every
 * redraw, so navigating never reloads or flickers it. */
function logo() {
  return document.getElementById('brand-logo') || h('img', { src: '/favicon.svg', alt: '', width: '32', height: '32', id: 'brand-logo' });
}

function menuButton() {
  return h('button', {
    type: 'button',
    class: 'menu-toggle',
    id: 'menu-toggle',
    'aria-expanded': menuOpen ? 'true' : 'false',
    'aria-controls': 'site-nav',
    onclick: () => {
      menuOpen = !menuOpen;
      drawHeader();
      document.getElementById('menu-toggle')?.focus();
    },
  }, menuOpen ? t('nav.menu_close') : t('nav.menu'));
}

function navLink(href, label, extra = {}) {
  const here = window.location.pathname === href || (href !== '/' && window.location.pathname.startsWith(`${href}/`));
  return h('li', {}, h('a', { href, 'aria-current': here ? 'page' : null, ...extra }, label));
}

function languageSwitch() {
  const other = currentLocale() === 'vi' ? 'en' : 'vi';
  return h('button', {
    type: 'button',
    class: 'lang-switch',
    lang: other,
    id: 'lang-switch',
    'aria-label': other === 'en' ? 'Switch to English' : 'Chuyển sang tiếng Việt',
    onclick: () => setLocale(other),
  }, other === 'en' ? 'English' : 'Tiếng Việt');
}

async function leave() {
  const current = session();
  if (current) {
    try {
      await api('/v1/auth/logout', { method: 'POST', body: { refresh_token: current.refresh_token } });
    } catch {
      // signing out here matters more than telling the server
    }
  }
  // unsaved form edits are personal data: on a shared device they go with the session
  try {
    Object.keys(localStorage).filter((k) => k.startsWith('motcua.unsaved.')).forEach((k) => localStorage.removeItem(k));
  } catch {
    // nothing was kept where storage is refused
  }
  signOut();
  navigate('/');
}

export function drawHeader() {
  if (menuPath !== window.location.pathname) {
    menuOpen = false; // a new page closes the menu
    menuPath = window.location.pathname;
  }
  const signedIn = Boolean(session());
  const items = [navLink('/procedures', t('nav.procedures')), navLink('/lookup', t('nav.lookup'))];
  if (signedIn && hasRole('officer')) items.push(navLink('/officer', t('nav.officer')));
  if (signedIn && hasRole('citizen')) {
    items.push(navLink('/applications', t('nav.applications')));
    items.push(navLink('/notifications', unread ? t('nav.notifications_unread', { count: unread }) : t('nav.notifications'),
      { id: 'nav-notifications' }));
  }
  if (signedIn) {
    items.push(navLink('/account', t('nav.account')));
    items.push(h('li', {}, h('button', { type: 'button', class: 'link-button', id: 'sign-out', onclick: leave }, t('nav.sign_out'))));
  } else {
    items.push(navLink('/login', t('nav.sign_in')));
    items.push(navLink('/register', t('nav.register')));
  }
  const header = document.getElementById('site-header');
  header.classList.toggle('menu-open', menuOpen);
  fill(
    header,
    h('div', { class: 'header-inner' },
      h('a', { href: '/', class: 'brand' },
        logo(),
        h('span', { class: 'brand-text' }, h('strong', {}, t('brand.name')), h('span', {}, t('brand.tagline')))),
      h('div', { class: 'header-tools' }, languageSwitch(), menuButton())),
    h('nav', { 'aria-label': t('nav.label'), id: 'site-nav' }, h('ul', { class: 'nav-list' }, items)),
  );
  document.getElementById('skip-link').textContent = t('nav.skip');
}

export function drawFooter() {
  fill(
    document.getElementById('site-footer'),
    h('p', {}, t('footer.about')),
    h('p', {}, h('a', { href: '/openapi.json' }, t('footer.api'))),
  );
}

export function drawConnection() {
  const banner = document.getElementById('connection');
  fill(banner, navigator.onLine ? '' : h('p', { class: 'offline-banner' }, t('connection.offline')));
}

/** Refresh the unread count shown in the navigation (citizens only). */
export async function refreshUnread() {
  if (!session() || !hasRole('citizen')) {
    unread = 0;
    return;
  }
  try {
    const { body } = await api('/v1/notifications?page_size=1');
    if (body && typeof body.unread === 'number' && body.unread !== unread) {
      unread = body.unread;
      drawHeader();
    }
  } catch {
    // the count is a convenience; the inbox page shows errors
  }
}
