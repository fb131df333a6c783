// Debounced autosave with optimistic concurrency.
//
// Every change PUTs {version, regions, clip_labels} to annotations/{id}/ after a quiet period.
// 200 → store the new version. No answer / 5xx → keep "Unsaved — retrying" and back off.
// 409 → someone else saved a newer version: stop saving, keep both versions, let the user choose.
// A copy of unsaved work lives in localStorage (keyed by annotation id + the version it was based
// on) so a reload or a crash loses nothing.

import { Emitter } from './emitter.js';
import { normalizeDoc } from './store.js';
import { stableStringify } from './util.js';

const DEBOUNCE_MS = 800;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const DRAFT_PREFIX = 'earmark:draft:';

export const SAVE_TEXT = {
  saved: 'Saved',
  saving: 'Saving…',
  retrying: 'Unsaved — retrying',
  conflict: 'Conflict',
  error: 'Not saved',
};

/** Comparable content of a document, whatever order or number formatting the server used. */
export function docContent(doc) {
  const n = normalizeDoc(doc);
  return stableStringify({ regions: n.regions, clip_labels: n.clip_labels.map(String).sort() });
}

export class Autosave extends Emitter {
  constructor({ api, store, annotationId, version }) {
    super();
    this.api = api;
    this.store = store;
    this.annotationId = annotationId;
    this.version = version;
    this.savedContent = docContent(store.doc);
    this.state = 'saved';
    this.detail = '';
    this.inFlight = null;
    this.conflict = null; // the server's Annotation while a conflict is unresolved
    this.attempt = 0;
    this.timer = null;
    this.destroyed = false;
    this._onOnline = () => {
      if (this.state === 'retrying') this._runSoon(0);
    };
    window.addEventListener('online', this._onOnline);
  }

  get dirty() {
    return docContent(this.store.doc) !== this.savedContent;
  }

  /** Called on every document change. */
  schedule() {
    if (this.destroyed) return;
    if (!this.dirty) {
      if (!this.inFlight && !this.conflict && this.state !== 'retrying') {
        clearTimeout(this.timer);
        this._set('saved');
        removeDrafts(this.annotationId);
      }
      return;
    }
    writeDraft(this.annotationId, this.version, this.store.doc);
    if (this.conflict) return; // keep editing locally; nothing goes out until the user chooses
    if (this.state !== 'retrying') this._set('saving');
    this._runSoon(this.state === 'retrying' ? null : DEBOUNCE_MS);
  }

  _runSoon(delay) {
    if (delay === null) return; // a retry timer is already pending
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._run(), delay);
  }

  /** Save now; resolves true when the server holds exactly what the page shows. */
  async flush() {
    clearTimeout(this.timer);
    for (let i = 0; i < 5; i++) {
      if (this.inFlight) await this.inFlight;
      if (this.conflict) return false;
      if (!this.dirty) return true;
      await this._run();
      if (this.state === 'retrying' || this.state === 'error') return false;
    }
    return !this.dirty && !this.conflict;
  }

  _run() {
    if (this.destroyed || this.conflict) return Promise.resolve();
    if (this.inFlight) {
      // A save is on the wire; look again once it lands.
      return this.inFlight.then(() => this._run());
    }
    this.inFlight = this._save().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  async _save() {
    const doc = this.store.doc;
    const content = docContent(doc);
    if (content === this.savedContent) {
      this._settle();
      return;
    }
    const body = { version: this.version, regions: doc.regions, clip_labels: doc.clip_labels };
    this._set('saving');
    try {
      const saved = await this.api.saveAnnotation(this.annotationId, body);
      if (this.destroyed) return;
      this._accept(saved?.version ?? this.version + 1, content);
      this.emit('saved', saved);
    } catch (err) {
      if (this.destroyed) return;
      if (err.status === 409) {
        let current = err.body && err.body.current;
        if (!current) current = await this.api.annotation(this.annotationId).catch(() => null);
        if (current && docContent(current) === content) {
          // Our own earlier save went through but its answer was lost: nothing to resolve.
          this._accept(current.version, content);
          return;
        }
        this._enterConflict(current);
      } else if (err.transient) {
        this._set('retrying', err.detail);
        const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
        this.attempt++;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this._run(), delay);
      } else {
        this._set('error', err.detail);
      }
    }
  }

  _accept(version, content) {
    const oldVersion = this.version;
    this.version = version;
    this.savedContent = content;
    this.attempt = 0;
    removeDraft(this.annotationId, oldVersion);
    this._settle();
  }

  _settle() {
    if (this.dirty) {
      writeDraft(this.annotationId, this.version, this.store.doc);
      this._set('saving');
      this._runSoon(DEBOUNCE_MS);
    } else {
      removeDrafts(this.annotationId);
      this._set('saved');
    }
  }

  _enterConflict(current) {
    clearTimeout(this.timer);
    this.conflict = current || { version: '?', regions: [], clip_labels: [] };
    writeDraft(this.annotationId, this.version, this.store.doc);
    this._set('conflict');
    this.emit('conflict', this.conflict);
  }

  /** Start in conflict (a draft from an older version was found on load). */
  startConflict(current) {
    this._enterConflict(current);
  }

  /** "Load theirs": show the server's version; mine stays one undo step away. */
  loadTheirs() {
    const current = this.conflict;
    if (!current) return;
    this.conflict = null;
    this.version = current.version;
    this.store.replace({ regions: current.regions || [], clip_labels: current.clip_labels || [] });
    this.savedContent = docContent(this.store.doc);
    removeDrafts(this.annotationId);
    this._set('saved');
    this.emit('resolved', 'theirs');
  }

  /** "Overwrite with mine": re-send my version on top of the server's current one. */
  overwriteMine() {
    const current = this.conflict;
    if (!current) return Promise.resolve();
    this.conflict = null;
    this.version = current.version;
    this.savedContent = docContent(current);
    removeDrafts(this.annotationId);
    writeDraft(this.annotationId, this.version, this.store.doc);
    this.emit('resolved', 'mine');
    return this._run();
  }

  _set(state, detail = '') {
    this.state = state;
    this.detail = detail || '';
    this.emit('state', state, this.detail);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
    window.removeEventListener('online', this._onOnline);
  }
}

// --- localStorage drafts ----------------------------------------------------------------------

function draftKey(annotationId, version) {
  return `${DRAFT_PREFIX}${annotationId}:${version}`;
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: drafts are best effort
  }
}

export function writeDraft(annotationId, version, doc) {
  const ls = storage();
  if (!ls) return;
  try {
    ls.setItem(
      draftKey(annotationId, version),
      JSON.stringify({ annotation_id: annotationId, base_version: version, regions: doc.regions, clip_labels: doc.clip_labels, saved_at: Date.now() }),
    );
  } catch {
    /* quota exceeded: the server copy still exists */
  }
}

function removeDraft(annotationId, version) {
  storage()?.removeItem(draftKey(annotationId, version));
}

export function removeDrafts(annotationId) {
  const ls = storage();
  if (!ls) return;
  const prefix = `${DRAFT_PREFIX}${annotationId}:`;
  for (let i = ls.length - 1; i >= 0; i--) {
    const key = ls.key(i);
    if (key && key.startsWith(prefix)) ls.removeItem(key);
  }
}

/** The newest unsaved draft for an annotation, or null. */
export function readDraft(annotationId) {
  const ls = storage();
  if (!ls) return null;
  const prefix = `${DRAFT_PREFIX}${annotationId}:`;
  let best = null;
  for (let i = 0; i < ls.length; i++) {
    const key = ls.key(i);
    if (!key || !key.startsWith(prefix)) continue;
    try {
      const draft = JSON.parse(ls.getItem(key));
      if (!best || (draft.saved_at || 0) > (best.saved_at || 0)) best = draft;
    } catch {
      ls.removeItem(key);
    }
  }
  return best;
}
