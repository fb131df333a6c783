// A layer of time spans drawn over the waveform: the suggestions (suggestions.js) and the aligned words
// (transcripts.js). It lives inside wavesurfer's scrolling wrapper (shadow DOM, hence the callers' inline styles),
// and only the spans in view, plus a quarter of the view on each side, get elements, so an hour of speech with
// thousands of spans stays cheap.

import { h } from './dom.js';

const MARGIN = 0.25; // of the visible window, on each side

export class SpanLayer {
  /** `attrs`: the layer element's attributes; `create(span)` builds a span's element and `update(el, span)`
   *  (optional) restyles it on every draw. A span has an `id` and `start` and `end` in seconds. */
  constructor({ waveform, attrs, create, update = null }) {
    this.waveform = waveform;
    this.create = create;
    this.update = update;
    this.elements = new Map();
    this.el = h('div', attrs);
    waveform.ws.getWrapper().appendChild(this.el);
  }

  /** Draw the spans that intersect the visible window and drop the elements of the others. */
  draw(spans) {
    const duration = this.waveform.duration;
    if (!duration) return;
    const [a, b] = this.waveform.visibleRange();
    const margin = (b - a) * MARGIN;
    const keep = new Set();
    for (const s of spans) {
      if (s.end < a - margin || s.start > b + margin) continue;
      keep.add(s.id);
      let el = this.elements.get(s.id);
      if (!el) {
        el = this.create(s);
        this.elements.set(s.id, el);
        this.el.appendChild(el);
      }
      el.style.left = `${(s.start / duration) * 100}%`;
      el.style.width = `${((s.end - s.start) / duration) * 100}%`;
      this.update?.(el, s);
    }
    for (const [id, el] of this.elements) {
      if (!keep.has(id)) {
        el.remove();
        this.elements.delete(id);
      }
    }
  }

  /** Remove every span's element (the next draw builds them again). */
  clear() {
    for (const el of this.elements.values()) el.remove();
    this.elements.clear();
  }

  destroy() {
    this.el.remove();
    this.elements.clear();
  }
}
