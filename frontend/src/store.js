// The annotation document (regions + clip labels), the selection, and undo/redo.
// Everything that changes the document goes through Store.commit(), which records an undo
// snapshot and emits "change"; the views (regions, side panel, spectrogram) and autosave listen.

import { Emitter } from './emitter.js';
import { History } from './undo.js';
import { clamp, roundMs, uuid } from './util.js';

const MIN_LENGTH = 0.001;

export function emptyDoc() {
  return { regions: [], clip_labels: [] };
}

export class Store extends Emitter {
  constructor() {
    super();
    this.doc = emptyDoc();
    this.duration = 0;
    this.selectedId = null;
    this.history = new History();
    this.revision = 0; // bumps on every document change; autosave compares it
  }

  /** Replace the document without an undo step (initial load, next item). */
  reset(doc, duration) {
    this.duration = duration || this.duration;
    this.doc = this.normalize(doc);
    this.selectedId = null;
    this.history.clear();
    this.revision++;
    this.emit('change', { source: 'reset' });
    this.emit('select', null);
  }

  snapshot() {
    return JSON.stringify(this.doc);
  }

  /**
   * Apply `mutator(doc)` to a copy of the document. Options:
   *   coalesce: key to merge quick successive edits into one undo step
   *   source:   who made the change (views use it to skip echoing their own edit)
   *   record:   false to skip the undo snapshot
   */
  commit(mutator, { coalesce = null, source = 'user', record = true } = {}) {
    const before = this.snapshot();
    const draft = JSON.parse(before);
    mutator(draft);
    const next = this.normalize(draft);
    if (JSON.stringify(next) === before) return false;
    if (record) this.history.record(before, coalesce);
    this.doc = next;
    this.revision++;
    if (this.selectedId && !this.region(this.selectedId)) this.selectedId = null;
    this.emit('change', { source });
    return true;
  }

  /** Replace the whole document as one undoable step ("Load theirs" keeps mine one ctrl+z away). */
  replace(doc, { source = 'replace' } = {}) {
    this.commit(
      (d) => {
        d.regions = doc.regions || [];
        d.clip_labels = doc.clip_labels || [];
      },
      { source },
    );
  }

  undo() {
    return this._travel(this.history.undo(this.snapshot()));
  }

  redo() {
    return this._travel(this.history.redo(this.snapshot()));
  }

  _travel(snapshot) {
    if (snapshot === null) return false;
    this.doc = JSON.parse(snapshot);
    this.revision++;
    if (this.selectedId && !this.region(this.selectedId)) this.select(null);
    this.emit('change', { source: 'history' });
    return true;
  }

  select(id) {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.emit('select', id);
  }

  region(id) {
    return this.doc.regions.find((r) => r.id === id) || null;
  }

  get selected() {
    return this.selectedId ? this.region(this.selectedId) : null;
  }

  /** Regions ordered by start time (the document keeps them sorted too). */
  get regions() {
    return this.doc.regions;
  }

  addRegion(fields, opts) {
    const region = { id: uuid(), channel: null, label: null, text: '', attributes: {}, fmin: null, fmax: null, ...fields };
    this.commit((d) => d.regions.push(region), opts);
    return region.id;
  }

  updateRegion(id, fields, opts) {
    return this.commit((d) => {
      const r = d.regions.find((x) => x.id === id);
      if (r) Object.assign(r, fields);
    }, opts);
  }

  removeRegion(id, opts) {
    return this.commit((d) => {
      d.regions = d.regions.filter((x) => x.id !== id);
    }, opts);
  }

  normalize(doc) {
    return normalizeDoc(doc, this.duration || Infinity);
  }
}

/** The payload shape the API stores (known fields only, times rounded to ms, regions sorted). */
export function normalizeDoc(doc, duration = Infinity) {
  const regions = ((doc && doc.regions) || [])
    .map((r) => normalizeRegion(r, duration))
    .filter(Boolean)
    .sort((a, b) => a.start - b.start || a.end - b.end || (a.id < b.id ? -1 : 1));
  const clip = [...new Set(((doc && doc.clip_labels) || []).filter((x) => x !== null && x !== undefined))];
  return { regions, clip_labels: clip };
}

function normalizeRegion(r, duration) {
  if (!r || typeof r !== 'object') return null;
  let start = roundMs(clamp(Number(r.start) || 0, 0, duration));
  let end = roundMs(clamp(Number(r.end) || 0, 0, duration));
  if (end < start) [start, end] = [end, start];
  if (end - start < MIN_LENGTH) {
    end = roundMs(Math.min(duration, start + MIN_LENGTH));
    if (end - start < MIN_LENGTH) start = roundMs(end - MIN_LENGTH);
  }
  let fmin = r.fmin === null || r.fmin === undefined || r.fmin === '' ? null : Math.round(Number(r.fmin));
  let fmax = r.fmax === null || r.fmax === undefined || r.fmax === '' ? null : Math.round(Number(r.fmax));
  if (Number.isNaN(fmin)) fmin = null;
  if (Number.isNaN(fmax)) fmax = null;
  if (fmin !== null && fmax !== null && fmin > fmax) [fmin, fmax] = [fmax, fmin];
  return {
    id: String(r.id || uuid()),
    start,
    end,
    channel: r.channel === null || r.channel === undefined || r.channel === '' ? null : Number(r.channel),
    label: r.label === null || r.label === undefined || r.label === '' ? null : r.label,
    text: r.text || '',
    attributes: r.attributes && typeof r.attributes === 'object' ? r.attributes : {},
    fmin,
    fmax,
    source: r.source && typeof r.source === 'object' ? r.source : null,
  };
}
