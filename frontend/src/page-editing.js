// Editing: labels, clip labels, suggestions, marks, nudges, snapping, undo/redo, spectrogram boxes.
// Methods of the annotator page (mixed into AnnotatorPage in main.js; `this` is the page).

import { labelHotkey } from './hotkeys.js';
import { draftFields } from './transcripts.js';
import { clamp, formatTime } from './util.js';

export class PageEditing {
  // --- editing ---------------------------------------------------------------------------------

  _regionLabelForDigit(n) {
    const labels = this.schema?.region_labels || [];
    return labels.find((l, i) => labelHotkey(l, i) === String(n)) || null;
  }

  labelDigit(n) {
    const label = this._regionLabelForDigit(n);
    if (!label) return false;
    this.chooseLabel(label.id);
  }

  _labelHotkey(e) {
    if (!this.item || e.key.length !== 1) return false;
    const labels = this.schema?.region_labels || [];
    const k = e.key.toLowerCase();
    const label = labels.find((l, i) => labelHotkey(l, i).toLowerCase() === k);
    if (!label) return false;
    this.chooseLabel(label.id);
    return true;
  }

  chooseLabel(labelId) {
    if (!this.item || !this.panel) return;
    const s = this.item.suggestions;
    if (this.store.selected) {
      this.store.updateRegion(this.store.selectedId, { label: labelId });
    } else if (s && s.selectedId) {
      this.acceptSuggestion(s.selectedId, labelId);
    } else {
      this.panel.armedLabel = this.panel.armedLabel === labelId ? null : labelId;
      const name = this.labels.get(labelId)?.name;
      this.notice(this.panel.armedLabel === null ? 'New regions start unlabelled.' : `New regions will be labelled “${name}”.`, 'info');
      this._renderPanel();
    }
  }

  setLabel(labelId) {
    if (!this.store.selected) return false;
    this.store.updateRegion(this.store.selectedId, { label: labelId });
  }

  clipDigit(n) {
    const labels = this.schema?.clip_labels || [];
    const label = labels.find((l, i) => labelHotkey(l, i) === String(n));
    if (!label) return false;
    this.toggleClipLabel(label.id);
  }

  toggleClipLabel(id) {
    const multi = !!this.schema?.clip_multi;
    this.store.commit((d) => {
      const has = d.clip_labels.some((x) => String(x) === String(id));
      if (multi) d.clip_labels = has ? d.clip_labels.filter((x) => String(x) !== String(id)) : [...d.clip_labels, id];
      else d.clip_labels = has ? [] : [id];
    });
  }

  enter() {
    const s = this.item?.suggestions;
    if (s && s.selectedId) {
      this.acceptSuggestion(s.selectedId, null);
      return;
    }
    if (this.store.selected) return this.panel.focusTranscript();
    return false;
  }

  acceptSuggestion(id, labelId) {
    const s = this.item?.suggestions?.get(id);
    if (!s) return;
    const newId = this.store.addRegion({ start: s.start, end: s.end, label: labelId ?? s.label ?? this.panel?.armedLabel ?? null, source: s.source ?? null, ...draftFields(s) });
    this.item.suggestions.select(null);
    this.store.select(newId);
  }

  acceptAllSuggestions() {
    const list = this.item?.suggestions?.visible || [];
    if (!list.length) return;
    const label = this.panel?.armedLabel ?? null;
    this.store.commit((d) => {
      for (const s of list) d.regions.push({ id: undefined, start: s.start, end: s.end, label: s.label ?? label, text: '', attributes: {}, channel: null, fmin: null, fmax: null, source: s.source ?? null, ...draftFields(s) });
    });
    this.notice(`Accepted ${list.length} suggestion${list.length === 1 ? '' : 's'} (Ctrl+Z undoes).`, 'info');
  }

  dismissAllSuggestions() {
    const s = this.item?.suggestions;
    if (!s) return;
    s.dismissMany(s.visible.map((x) => x.id));
    this._renderPanel();
  }

  restoreSuggestions() {
    this.item?.suggestions?.restoreAll();
    this._renderPanel();
  }

  deleteSelected() {
    if (!this.item) return false;
    const s = this.item.suggestions;
    if (this.store.selectedId) {
      this.store.removeRegion(this.store.selectedId);
      this.store.select(null);
      return;
    }
    if (s && s.selectedId) {
      s.dismiss(s.selectedId);
      this._renderPanel();
      return;
    }
    return false;
  }

  escape() {
    if (this._helpOpen) return this.toggleHelp(false);
    if (this.markIn !== null) {
      this.markIn = null;
      this.notice('Mark cleared.', 'info');
      return;
    }
    return this.deselect() || false;
  }

  cycleChannel() {
    const r = this.store.selected;
    const n = this.item?.channelCount || 1;
    if (!r || n < 2) return false;
    const next = r.channel === null ? 0 : r.channel + 1 >= n ? null : r.channel + 1;
    this.store.updateRegion(r.id, { channel: next });
    this.notice(next === null ? 'Region on all channels.' : `Region tied to channel ${next + 1}.`, 'info');
  }

  mark(which) {
    const wf = this.waveform;
    if (!wf) return false;
    const t = wf.currentTime;
    if (which === 'i') {
      this.markIn = t;
      this.notice(`Start marked at ${formatTime(t)}. Press O at the end (Esc cancels).`, 'info');
      return;
    }
    if (this.markIn === null) {
      this.notice('Press I at the start of the region first.', 'info');
      return;
    }
    const start = Math.min(this.markIn, t);
    const end = Math.max(this.markIn, t);
    this.markIn = null;
    if (end - start < 0.02) {
      this.notice('The region would be shorter than 20 ms; play on a little before pressing O.', 'info');
      return;
    }
    const id = this.store.addRegion({ start, end, label: this.panel?.armedLabel ?? null });
    this.store.select(id);
  }

  nudge(side, delta) {
    const r = this.store.selected;
    if (!r) {
      this.notice('Select a region first (click it, or N / P).', 'info');
      return;
    }
    const duration = this.item.duration;
    let value = r[side] + delta;
    value = side === 'start' ? clamp(value, 0, r.end - 0.001) : clamp(value, r.start + 0.001, duration);
    this.store.updateRegion(r.id, { [side]: value }, { coalesce: `nudge:${r.id}:${side}` });
    const moved = this.store.region(r.id);
    this.waveform.reveal(moved[side]);
    this._replay(moved[side]);
  }

  snap() {
    const r = this.store.selected;
    if (!r) {
      this.notice('Select a region first.', 'info');
      return;
    }
    const edges = [];
    for (const [a, b] of this.item.voiced || []) edges.push(Number(a), Number(b));
    if (!edges.length) {
      this.notice('No voiced segments for this recording.', 'info');
      return;
    }
    let best = null;
    for (const side of ['start', 'end']) {
      for (const e of edges) {
        const valid = side === 'start' ? e < r.end - 0.001 : e > r.start + 0.001;
        if (!valid) continue;
        const dist = Math.abs(e - r[side]);
        if (!best || dist < best.dist) best = { side, edge: e, dist };
      }
    }
    if (!best) {
      this.notice('No voiced-segment edge fits this region.', 'info');
      return;
    }
    if (best.dist < 0.0005) {
      this.notice(`The ${best.side} is already on a voiced-segment edge.`, 'info');
      return;
    }
    this.store.updateRegion(r.id, { [best.side]: best.edge });
    this.notice(`Snapped the ${best.side} to ${formatTime(best.edge)}.`, 'info');
    this._replay(best.edge);
  }

  undo() {
    if (!this.store.undo()) this.notice('Nothing to undo.', 'info');
  }

  redo() {
    if (!this.store.redo()) this.notice('Nothing to redo.', 'info');
  }

  _onSpectrogramBox(box, { shift }) {
    const r = this.store.selected;
    if (shift && r) {
      this.store.updateRegion(r.id, { fmin: box.fmin, fmax: box.fmax });
      return;
    }
    if (box.end - box.start < 0.01) return;
    const id = this.store.addRegion({ ...box, label: this.panel?.armedLabel ?? null });
    this.store.select(id);
  }

  _onSpectrogramPick(t, f) {
    const hits = this.store.regions.filter(
      (r) => t >= r.start && t <= r.end && (r.fmin === null || r.fmax === null || (f >= r.fmin && f <= r.fmax)),
    );
    // Prefer the tightest box under the pointer.
    hits.sort((a, b) => a.end - a.start - (b.end - b.start));
    if (hits.length) this.store.select(hits[0].id);
    else this.deselect();
    this.seek(t);
  }

}
