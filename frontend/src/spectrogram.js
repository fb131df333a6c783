// Spectrogram strip painted from the server's precomputed PNG tiles.
//
// The strip is one canvas as wide as the visible waveform. On every scroll/zoom we pick the tile
// level whose resolution matches the zoom, fetch only the tiles in view (cached), and draw them
// scaled into place, so an hour-long recording costs no more than a short one. Coarser tiles
// already in the cache are drawn first as a placeholder while finer ones load.
//
// Drag on the strip to draw a time-frequency box (a new region with fmin/fmax); Shift-drag sets
// the selected region's frequency range. Rows are mel-spaced between the index's fmin and fmax.

import { clamp } from './util.js';
import { withAlpha } from './util.js';

const HEIGHT = 160;
const CACHE_LIMIT = 240;

export const hzToMel = (f) => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m) => 700 * (10 ** (m / 2595) - 1);

export class Spectrogram {
  constructor({ strip, api, recordingId, index, waveform, store, labelColor, onBox, onPick }) {
    this.strip = strip;
    this.api = api;
    this.recordingId = recordingId;
    this.levels = [...(index.levels || [])].sort((a, b) => a.seconds_per_tile / a.tile_width - b.seconds_per_tile / b.tile_width);
    this.waveform = waveform;
    this.store = store;
    this.labelColor = labelColor;
    this.onBox = onBox;
    this.onPick = onPick;
    this.cache = new Map(); // "level/index" → {img, ready, failed}
    this.visible = false;
    this.live = null; // {id, start, end} while a region is being dragged on the waveform
    this.rubber = null;
    this.frame = 0;

    this.canvas = document.createElement('canvas');
    this.canvas.className = 'ann-spectrogram-canvas';
    this.canvas.setAttribute('data-testid', 'spectrogram-canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Spectrogram. Drag to draw a time-frequency box; Shift-drag sets the selected region’s frequency range.');
    this.strip.replaceChildren(this.canvas);
    this.axis = document.createElement('div');
    this.axis.className = 'ann-spectrogram-axis';
    this.strip.appendChild(this.axis);
    this._bindPointer();
  }

  /** The finest level overall (its fmin/fmax define the frequency axis). */
  get freqRange() {
    const l = this.levels[0] || { fmin: 0, fmax: 8000, mel: true };
    return { fmin: l.fmin ?? 0, fmax: l.fmax ?? 8000, mel: l.mel !== false };
  }

  /** Hz → fraction of height from the bottom (0..1). */
  freqToFrac(f) {
    const { fmin, fmax, mel } = this.freqRange;
    if (mel) return (hzToMel(f) - hzToMel(fmin)) / (hzToMel(fmax) - hzToMel(fmin));
    return (f - fmin) / (fmax - fmin);
  }

  fracToFreq(frac) {
    const { fmin, fmax, mel } = this.freqRange;
    frac = clamp(frac, 0, 1);
    if (mel) return melToHz(hzToMel(fmin) + frac * (hzToMel(fmax) - hzToMel(fmin)));
    return fmin + frac * (fmax - fmin);
  }

  setVisible(visible) {
    this.visible = visible;
    this.strip.hidden = !visible;
    if (visible) this.draw();
  }

  /** Pick the coarsest level that still has at least as many pixels per second as the screen. */
  chooseLevel(pxPerSec) {
    const want = pxPerSec * Math.min(window.devicePixelRatio || 1, 2) * 0.75;
    // levels are sorted finest first; walk from coarsest to finest
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const l = this.levels[i];
      if (l.tile_width / l.seconds_per_tile >= want) return l;
    }
    return this.levels[0];
  }

  draw() {
    if (!this.visible || this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this._paint();
    });
  }

  _tile(level, index, load) {
    const key = `${level.level}/${index}`;
    let entry = this.cache.get(key);
    if (entry) {
      this.cache.delete(key); // refresh LRU position
      this.cache.set(key, entry);
      return entry;
    }
    if (!load) return null;
    const img = new Image();
    entry = { img, ready: false, failed: false };
    img.decoding = 'async';
    img.onload = () => {
      entry.ready = true;
      this.draw();
    };
    img.onerror = () => {
      entry.failed = true;
    };
    img.src = this.api.tileUrl(this.recordingId, level.level, index);
    this.cache.set(key, entry);
    while (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value);
    return entry;
  }

  _paint() {
    const wf = this.waveform;
    if (!wf.ws || !this.levels.length) return;
    const width = wf.ws.getWidth();
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(1, Math.round(width * dpr));
    const ch = Math.round(HEIGHT * dpr);
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${HEIGHT}px`;
    }
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#0b1020';
    ctx.fillRect(0, 0, width, HEIGHT);
    ctx.imageSmoothingEnabled = true;

    const pps = wf.pxPerSec;
    const [t0, t1] = wf.visibleRange();
    const chosen = this.chooseLevel(pps);
    // Coarser cached levels first (placeholders), then the chosen level, loading what is missing.
    const order = this.levels.filter((l) => l.seconds_per_tile / l.tile_width >= chosen.seconds_per_tile / chosen.tile_width).reverse();
    for (const level of order) {
      const load = level === chosen;
      const spt = level.seconds_per_tile;
      const first = Math.max(0, Math.floor(t0 / spt));
      const last = Math.min((level.count || Infinity) - 1, Math.floor(t1 / spt));
      for (let i = first; i <= last; i++) {
        const entry = this._tile(level, i, load);
        if (!entry || !entry.ready) continue;
        const secs = (entry.img.naturalWidth / level.tile_width) * spt;
        const x = (i * spt - t0) * pps;
        ctx.drawImage(entry.img, x, 0, secs * pps + 0.5, HEIGHT);
      }
    }
    this._paintRegions(ctx, t0, pps, width);
    this._paintCursor(ctx, t0, pps);
    this._paintAxis();
  }

  _paintRegions(ctx, t0, pps, width) {
    const selected = this.store.selectedId;
    for (const r of this.store.regions) {
      let { start, end } = r;
      if (this.live && this.live.id === r.id) ({ start, end } = this.live);
      const x0 = (start - t0) * pps;
      const x1 = (end - t0) * pps;
      if (x1 < 0 || x0 > width) continue;
      const color = this.labelColor(r.label);
      const isSel = r.id === selected;
      if (r.fmin !== null && r.fmax !== null) {
        const y0 = HEIGHT * (1 - this.freqToFrac(r.fmax));
        const y1 = HEIGHT * (1 - this.freqToFrac(r.fmin));
        ctx.fillStyle = withAlpha(color, isSel ? 0.22 : 0.12);
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        ctx.lineWidth = isSel ? 2 : 1.25;
        ctx.strokeStyle = isSel ? '#ffffff' : color;
        ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      } else {
        // No frequency range: mark the time extent along the top edge.
        ctx.fillStyle = withAlpha(color, isSel ? 0.95 : 0.7);
        ctx.fillRect(x0, 0, x1 - x0, isSel ? 4 : 3);
      }
    }
    if (this.rubber) {
      const { x0, y0, x1, y1 } = this.rubber;
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#ffffff';
      ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      ctx.setLineDash([]);
    }
  }

  _paintCursor(ctx, t0, pps) {
    const x = (this.waveform.currentTime - t0) * pps;
    ctx.fillStyle = '#f87171';
    ctx.fillRect(Math.round(x) - 1, 0, 2, HEIGHT);
  }

  _paintAxis() {
    const { fmax } = this.freqRange;
    const ticks = [250, 500, 1000, 2000, 4000, 8000, 16000].filter((f) => f < fmax * 0.98);
    const key = ticks.join(',') + fmax;
    if (this.axis.dataset.key === key) return;
    this.axis.dataset.key = key;
    this.axis.replaceChildren(
      ...[...ticks, fmax].map((f) => {
        const span = document.createElement('span');
        span.textContent = f >= 1000 ? `${+(f / 1000).toFixed(1)}k` : String(Math.round(f));
        const frac = this.freqToFrac(f);
        if (frac > 0.94) span.style.top = '2px';
        else span.style.bottom = `${frac * 100}%`;
        return span;
      }),
    );
  }

  _bindPointer() {
    const c = this.canvas;
    let start = null;
    const pos = (e) => {
      const rect = c.getBoundingClientRect();
      return { x: clamp(e.clientX - rect.left, 0, rect.width), y: clamp(e.clientY - rect.top, 0, rect.height) };
    };
    c.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      c.setPointerCapture(e.pointerId);
      start = { ...pos(e), shift: e.shiftKey };
      e.preventDefault();
    });
    c.addEventListener('pointermove', (e) => {
      if (!start) return;
      const p = pos(e);
      this.rubber = { x0: start.x, y0: start.y, x1: p.x, y1: p.y };
      this.draw();
    });
    const finish = (e) => {
      if (!start) return;
      const p = pos(e);
      const s = start;
      start = null;
      this.rubber = null;
      const [t0] = this.waveform.visibleRange();
      const pps = this.waveform.pxPerSec;
      const toTime = (x) => t0 + x / pps;
      const toFreq = (y) => this.fracToFreq(1 - y / HEIGHT);
      if (Math.abs(p.x - s.x) < 4 && Math.abs(p.y - s.y) < 4) {
        this.onPick?.(toTime(p.x), toFreq(p.y));
      } else {
        this.onBox?.(
          {
            start: toTime(Math.min(s.x, p.x)),
            end: toTime(Math.max(s.x, p.x)),
            fmin: toFreq(Math.max(s.y, p.y)),
            fmax: toFreq(Math.min(s.y, p.y)),
          },
          { shift: s.shift },
        );
      }
      this.draw();
    };
    c.addEventListener('pointerup', finish);
    c.addEventListener('pointercancel', () => {
      start = null;
      this.rubber = null;
      this.draw();
    });
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.cache.clear();
    this.strip.replaceChildren();
  }
}
