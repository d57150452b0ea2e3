// The waiting room. On its worst day the platform answers what it cannot take at once with 503 and
// Retry-After, before doing anything. The page then does not show an error and does not move: it says,
// in Vietnamese and in English, that the service is busy and that what was typed is kept (the form's
// edits stay in the page and on this device, see autosave.js), and it sends the same request again by
// itself, no sooner than the server asked and with a random spread, so that a crowd told to wait does
// not come back in one wave. A person in the middle of a dossier stays where they are.
import { fill, h } from './dom.js';
import { currentLocale, onLocaleChange, t, tIn } from './i18n.js';

export const MAX_ATTEMPTS = 12; // about ten minutes of waiting at most, then the page says to try later
const CAP_SECONDS = 60;

const waits = new Set(); // {resolve, timer, at}: the requests waiting for their next try
let inRoom = 0; // requests between their first 503 and their final answer
let ticker = null;

/** Seconds before try `attempt` (0 first): at least what the server asked, spread up to twice an
 * exponentially growing ceiling (capped at a minute). */
export function backoff(retryAfter, attempt, random = Math.random) {
  const base = Math.max(1, Number(retryAfter) || 1);
  const ceiling = Math.min(CAP_SECONDS, base * 2 ** (attempt + 1));
  return base + random() * Math.max(0, ceiling - base);
}

/** The platform's way of saying "busy, come back": 503 with a Retry-After. */
export function isBusy(answer) {
  return answer.status === 503 && Number(answer.headers?.get?.('Retry-After')) > 0;
}

/**
 * The final answer to `send()`: while it is "busy", wait (showing the waiting room) and send again.
 * Safe for any request: a busy answer means nothing was done (the gateway did not forward it, or the
 * service refused it before acting); a submit carries its Idempotency-Key anyway.
 */
export async function patiently(first, send) {
  let answer = first;
  if (!isBusy(answer)) return answer;
  inRoom += 1;
  try {
    for (let attempt = 0; isBusy(answer) && attempt < MAX_ATTEMPTS; attempt += 1) {
      await pause(backoff(answer.headers.get('Retry-After'), attempt));
      answer = await send();
    }
  } finally {
    inRoom -= 1;
    draw();
  }
  return answer;
}

function pause(seconds) {
  return new Promise((resolve) => {
    const entry = { resolve, at: Date.now() + seconds * 1000, timer: null };
    entry.timer = setTimeout(() => finish(entry), seconds * 1000);
    waits.add(entry);
    draw();
  });
}

function finish(entry) {
  clearTimeout(entry.timer);
  waits.delete(entry);
  entry.resolve();
}

/** "Try again now": every waiting request goes at once. */
function tryNow() {
  [...waits].forEach(finish);
}

function banner() {
  let found = document.getElementById('waiting-room');
  if (!found) {
    found = h('div', { id: 'waiting-room', class: 'waiting-room-region', role: 'status', 'aria-live': 'polite' });
    const after = document.getElementById('connection');
    if (after) after.after(found);
    else document.body.prepend(found);
  }
  return found;
}

function secondsLeft() {
  const next = Math.min(...[...waits].map((w) => w.at));
  return Number.isFinite(next) ? Math.max(0, Math.ceil((next - Date.now()) / 1000)) : 0;
}

function draw() {
  const region = banner();
  if (inRoom === 0) {
    clearInterval(ticker);
    ticker = null;
    if (region.firstChild) fill(region, h('p', { class: 'visually-hidden' }, t('waiting.back')));
    return;
  }
  const other = currentLocale() === 'vi' ? 'en' : 'vi';
  const countdown = h('p', { class: 'waiting-countdown', 'aria-hidden': 'true', id: 'waiting-countdown' });
  fill(region, h('section', { class: 'waiting-room', 'aria-labelledby': 'waiting-title' },
    h('h2', { id: 'waiting-title' }, t('waiting.title')),
    h('p', {}, t('waiting.busy')),
    h('div', { lang: other, class: 'waiting-other' },
      h('p', {}, h('strong', {}, tIn(other, 'waiting.title')), ' ', tIn(other, 'waiting.busy'))),
    countdown,
    h('button', { type: 'button', class: 'button button-secondary', id: 'waiting-retry', onclick: tryNow },
      t('waiting.retry_now'))));
  tick();
  if (!ticker) ticker = setInterval(tick, 1000);
}

function tick() {
  const countdown = document.getElementById('waiting-countdown');
  if (!countdown) return;
  const seconds = secondsLeft();
  countdown.textContent = seconds > 0 ? t('waiting.countdown', { seconds }) : t('waiting.trying');
}

banner(); // the live region exists before anything is said in it, so screen readers announce it
onLocaleChange(() => {
  if (inRoom > 0) draw();
});
