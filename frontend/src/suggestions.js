// Suggested regions: the voiced segments found by processing, drawn as dashed boxes over the
// waveform. They are not part of the annotation until accepted (Enter / ✓ / a label hotkey);
// ✕ or Delete dismisses one. Only the suggestions in view get DOM elements, so an hour of speech
// with thousands of segments stays cheap (a SpanLayer, like the aligned words).

import { h } from './dom.js';
import { suggestionCaption } from './model-suggestions.js';
import { SpanLayer } from './span-layer.js';
import { formatTime } from './util.js';

const OVERLAP_HIDES = 0.5; // a suggestion mostly covered by a real region is hidden

export class SuggestionsLayer {
  constructor({ waveform, store, dismissedKey, onAccept, onSelect }) {
    this.waveform = waveform;
    this.store = store;
    this.onAccept = onAccept;
    this.onSelect = onSelect;
    this.dismissedKey = dismissedKey;
    this.segments = [];
    this.dismissed = new Set(loadDismissed(dismissedKey));
    this.selectedId = null;
    this.spans = new SpanLayer({
      waveform,
      attrs: { part: 'earmark-suggestions', style: { position: 'absolute', inset: '0', zIndex: '4', pointerEvents: 'none' } },
      create: (s) => this._element(s),
      update: (el, s) => {
        const selected = s.id === this.selectedId;
        el.setAttribute('data-selected', selected ? 'true' : 'false');
        el.style.border = selected ? '2px solid rgba(37, 99, 235, 0.9)' : '1.5px dashed rgba(37, 99, 235, 0.6)';
        el.style.background = selected ? 'rgba(37, 99, 235, 0.14)' : 'rgba(37, 99, 235, 0.05)';
      },
    });
    this._visible = [];
  }

  /** [start, end] pairs (voice detection) or objects with label, confidence and source (a project model). */
  setSegments(segments) {
    this.segments = (segments || [])
      .map((seg, i) => {
        const s = Array.isArray(seg) ? { start: seg[0], end: seg[1] } : { ...seg };
        const prefix = s.source ? `model-${s.source.model}-` : s.detector ? `${s.detector}-` : '';
        return { ...s, id: `suggestion-${prefix}${i}`, start: Number(s.start), end: Number(s.end) };
      })
      .filter((s) => s.end > s.start);
    this.refresh();
  }

  /** Suggestions still on offer: not dismissed and not already covered by a region. */
  get visible() {
    return this._visible;
  }

  get(id) {
    return this._visible.find((s) => s.id === id) || null;
  }

  refresh() {
    const regions = this.store.regions;
    this._visible = this.segments.filter((s) => {
      if (this.dismissed.has(s.id)) return false;
      const len = s.end - s.start;
      for (const r of regions) {
        const overlap = Math.min(r.end, s.end) - Math.max(r.start, s.start);
        if (overlap > 0 && overlap >= OVERLAP_HIDES * len) return false;
      }
      return true;
    });
    if (this.selectedId && !this.get(this.selectedId)) this.selectedId = null;
    this.render();
  }

  select(id) {
    this.selectedId = id;
    this.render();
  }

  dismiss(id) {
    this.dismissMany([id]);
  }

  dismissMany(ids) {
    for (const id of ids) this.dismissed.add(id);
    saveDismissed(this.dismissedKey, this.dismissed);
    if (this.selectedId && this.dismissed.has(this.selectedId)) this.selectedId = null;
    this.refresh();
  }

  restoreAll() {
    this.dismissed.clear();
    saveDismissed(this.dismissedKey, this.dismissed);
    this.refresh();
  }

  /** Draw the suggestions intersecting the visible window (plus a margin). */
  render() {
    this.spans.draw(this._visible);
  }

  _element(s) {
    const button = (text, title, testid, onclick) =>
      h(
        'button',
        {
          type: 'button',
          title,
          'aria-label': title,
          'data-testid': testid,
          tabindex: '-1', // keyboard users accept with Enter / dismiss with Delete
          style: {
            pointerEvents: 'auto',
            font: '600 11px/14px system-ui, sans-serif',
            padding: '0 4px',
            margin: '0',
            border: '1px solid rgba(37, 99, 235, 0.5)',
            borderRadius: '3px',
            background: '#fff',
            color: '#1d4ed8',
            cursor: 'pointer',
          },
          onpointerdown: (e) => e.stopPropagation(),
          onclick: (e) => {
            e.stopPropagation();
            onclick();
          },
        },
        text,
      );
    const chip = h(
      'div',
      {
        style: {
          position: 'absolute',
          top: '2px',
          left: '2px',
          display: 'flex',
          gap: '2px',
          pointerEvents: 'auto',
          whiteSpace: 'nowrap',
        },
      },
      button('✓', `Accept suggestion ${formatTime(s.start)}–${formatTime(s.end)} (Enter)`, 'suggestion-accept', () => this.onAccept(s.id, null)),
      button('✕', 'Dismiss suggestion (Delete)', 'suggestion-dismiss', () => this.dismiss(s.id)),
      suggestionCaption(s)
        ? h('span', { 'data-testid': 'suggestion-caption', style: { font: '600 11px/14px system-ui, sans-serif', color: '#1d4ed8', background: 'rgba(255,255,255,0.85)', padding: '0 3px', borderRadius: '3px' } }, suggestionCaption(s))
        : null,
    );
    const el = h(
      'div',
      {
        part: 'earmark-suggestion',
        'data-testid': 'suggestion',
        'data-suggestion-id': s.id,
        style: {
          position: 'absolute',
          top: '0',
          height: '100%',
          boxSizing: 'border-box',
          borderRadius: '2px',
          pointerEvents: 'none',
          minWidth: '2px',
        },
      },
      chip,
    );
    chip.addEventListener('click', () => this.onSelect(s.id));
    return el;
  }

  destroy() {
    this.spans.destroy();
  }
}

function loadDismissed(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || '[]');
  } catch {
    return [];
  }
}

function saveDismissed(key, set) {
  try {
    localStorage.setItem(key, JSON.stringify([...set]));
  } catch {
    /* best effort */
  }
}
