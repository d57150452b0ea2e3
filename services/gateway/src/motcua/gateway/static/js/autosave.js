// Autosave of a draft: edits are sent a second after typing stops, as a JSON merge patch with
// If-Match, so that an edit made elsewhere is never overwritten silently (412 → the person
// chooses). Until the server has them, edits are also kept on this device (localStorage, by
// application id), so a lost connection, a reload or a closed tab loses nothing; they are sent
// again when the browser says it is back online.
import { ApiError, NetworkError, api } from './api.js';
import { randomKey } from './dom.js';

const PREFIX = 'motcua.unsaved.';
const TAB_KEY = 'motcua.tab';
export const DEBOUNCE_MS = 1000;

let thisTab = null;

function tabId() {
  if (!thisTab) {
    try {
      thisTab = sessionStorage.getItem(TAB_KEY) || randomKey();
      sessionStorage.setItem(TAB_KEY, thisTab);
    } catch {
      thisTab = randomKey();
    }
  }
  return thisTab;
}

/** The edits kept on this device for an application, or null. */
export function keptEdits(applicationId) {
  try {
    const kept = JSON.parse(localStorage.getItem(PREFIX + applicationId) || 'null');
    return kept && kept.data && typeof kept.data === 'object' ? kept : null;
  } catch {
    return null;
  }
}

export class Autosave {
  /**
   * onState(state, detail): 'saved' | 'unsaved' | 'saving' | 'offline' | 'conflict' | 'invalid' | 'failed'.
   * onSaved(application): the server's answer after each save.
   */
  constructor({ applicationId, etag, onState, onSaved, delay = DEBOUNCE_MS }) {
    this.id = applicationId;
    this.etag = etag;
    this.onState = onState;
    this.onSaved = onSaved || (() => {});
    this.delay = delay;
    this.pending = {};
    this.timer = null;
    this.inflight = null;
    this.stopped = false;
    this.conflicted = false;
    this.whenOnline = () => this.flush();
    window.addEventListener('online', this.whenOnline);
  }

  /** Take over edits kept on this device (from before a reload or a lost connection). */
  adopt(kept) {
    if (!kept) return;
    this.pending = { ...kept.data, ...this.pending };
    if (kept.base) this.etag = kept.base;
    this.keep();
  }

  hasPending() {
    return Object.keys(this.pending).length > 0;
  }

  edit(name, value) {
    this.pending[name] = value;
    this.keep();
    this.onState(navigator.onLine ? 'unsaved' : 'offline');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.delay);
  }

  keep() {
    try {
      if (this.hasPending()) {
        localStorage.setItem(PREFIX + this.id,
          JSON.stringify({ base: this.etag, data: this.pending, tab: tabId(), at: new Date().toISOString() }));
      } else {
        localStorage.removeItem(PREFIX + this.id);
      }
    } catch {
      // storage full or refused (private browsing): the edits still live in this page until sent
    }
  }

  /** Send what is pending now; resolves when the server has it (or it could not be sent). */
  async flush() {
    clearTimeout(this.timer);
    if (this.inflight) {
      await this.inflight;
    }
    if (!this.hasPending() || this.conflicted) return;
    if (!navigator.onLine) {
      this.onState('offline');
      return;
    }
    this.inflight = this.send().finally(() => { this.inflight = null; });
    await this.inflight;
    if (this.hasPending() && !this.conflicted && navigator.onLine && !this.stopped) {
      this.timer = setTimeout(() => this.flush(), this.delay);
    }
  }

  async send() {
    const sending = { ...this.pending };
    this.onState('saving');
    try {
      const answer = await api(`/v1/applications/${encodeURIComponent(this.id)}`, {
        method: 'PATCH',
        body: { data: sending },
        contentType: 'application/merge-patch+json',
        headers: { 'If-Match': this.etag },
      });
      this.etag = answer.etag || this.etag;
      for (const [name, value] of Object.entries(sending)) {
        if (Object.is(this.pending[name], value)) delete this.pending[name];
      }
      this.keep();
      this.onSaved(answer.body);
      this.onState(this.hasPending() ? 'unsaved' : 'saved', new Date());
    } catch (error) {
      this.keep();
      if (error instanceof NetworkError) {
        this.onState('offline');
      } else if (error instanceof ApiError && error.status === 412) {
        this.conflicted = true;
        this.onState('conflict');
      } else if (error instanceof ApiError && error.status === 422) {
        this.onState('invalid', error);
      } else {
        this.onState('failed', error);
      }
    }
  }

  /** The conflict, resolved by keeping my edits: read the server's version, apply mine on top. */
  async keepMine() {
    const { body, etag } = await api(`/v1/applications/${encodeURIComponent(this.id)}`);
    this.etag = etag;
    this.conflicted = false;
    this.keep();
    const merged = { ...body.data };
    for (const [name, value] of Object.entries(this.pending)) {
      if (value === null) delete merged[name];
      else merged[name] = value;
    }
    await this.flush();
    return merged;
  }

  /** The conflict, resolved by taking the other version: my unsaved edits are dropped. */
  async takeTheirs() {
    const { body, etag } = await api(`/v1/applications/${encodeURIComponent(this.id)}`);
    this.etag = etag;
    this.pending = {};
    this.conflicted = false;
    this.keep();
    this.onState('saved');
    return body;
  }

  /** Leaving the page: send what is pending (it stays on the device if that fails). */
  async stop() {
    this.stopped = true;
    window.removeEventListener('online', this.whenOnline);
    if (!this.conflicted) await this.flush();
    clearTimeout(this.timer);
  }
}
