// Keeps wavesurfer's Regions plugin in step with the Store.
//
// The Store is the source of truth. Mouse edits on the waveform (drag to create, move, resize,
// click) are turned into Store commits; every Store change is then rendered back here by diffing
// ids and a small signature per region. Region elements live in wavesurfer's shadow DOM, so they
// are styled inline.

import { withAlpha } from './util.js';

const UNLABELLED = '#64748b';
const MIN_DRAWN = 0.02; // a drag shorter than 20 ms is a click, not a region

export class RegionsView {
  constructor({ waveform, store, labels }) {
    this.waveform = waveform;
    this.plugin = waveform.regions;
    this.store = store;
    this.labels = labels; // Map id → label
    this.views = new Map(); // id → { region, sig }
    this.adding = false;
    this.lastRegionClick = 0;
    this.subs = [];

    this.plugin.enableDragSelection({ color: 'rgba(37, 99, 235, 0.18)' });

    this.subs.push(
      this.plugin.on('region-created', (region) => {
        if (this.adding) return;
        // Drawn with the mouse: replace wavesurfer's provisional region with a Store region.
        const { start, end } = region;
        region.remove();
        if (end - start < MIN_DRAWN) return;
        const id = this.store.addRegion({ start, end, ...(this.newRegionFields?.() || {}) }, { source: 'draw' });
        this.store.select(id);
      }),
      this.plugin.on('region-update', (region, side) => {
        if (this.views.has(region.id)) this.onLive?.(region.id, region.start, region.end, side);
      }),
      this.plugin.on('region-updated', (region, side) => {
        if (!this.views.has(region.id)) return;
        this.store.updateRegion(region.id, { start: region.start, end: region.end }, { source: 'waveform' });
        this.store.select(region.id);
        this.onMoved?.(region.id, side);
        this.sync(); // rounding to ms may differ from the dragged position
      }),
      this.plugin.on('region-clicked', (region) => {
        if (!this.views.has(region.id)) return;
        this.lastRegionClick = performance.now();
        this.store.select(region.id);
      }),
    );
  }

  /** True if the last waveform click landed on a region (so the click should not deselect). */
  get clickedRegionJustNow() {
    return performance.now() - this.lastRegionClick < 300;
  }

  labelColor(labelId) {
    const label = labelId === null ? null : this.labels.get(labelId);
    return label ? label.color || UNLABELLED : UNLABELLED;
  }

  sync() {
    const selected = this.store.selectedId;
    const seen = new Set();
    for (const r of this.store.regions) {
      seen.add(r.id);
      const label = r.label === null ? null : this.labels.get(r.label);
      const sig = [r.start, r.end, r.label, r.channel, r.text ? 1 : 0, r.fmin, r.fmax, r.id === selected].join('|');
      const existing = this.views.get(r.id);
      if (existing && existing.sig === sig) continue;
      const channelIdx = r.channel === null ? -1 : r.channel;
      if (existing && existing.channelIdx !== channelIdx) {
        existing.region.remove();
        this.views.delete(r.id);
      }
      const color = withAlpha(this.labelColor(r.label), r.id === selected ? 0.4 : 0.24);
      const view = this.views.get(r.id);
      if (view) {
        view.region.setOptions({ start: r.start, end: r.end, color });
        view.region.setContent(chip(r, label));
        view.sig = sig;
        style(view.region, r, r.id === selected, this.labelColor(r.label));
      } else {
        this.adding = true;
        let region;
        try {
          region = this.plugin.addRegion({
            id: r.id,
            start: r.start,
            end: r.end,
            color,
            channelIdx,
            drag: true,
            resize: true,
            minLength: 0.01,
            content: chip(r, label),
          });
        } finally {
          this.adding = false;
        }
        this.views.set(r.id, { region, sig, channelIdx });
        style(region, r, r.id === selected, this.labelColor(r.label));
      }
    }
    for (const [id, view] of this.views) {
      if (!seen.has(id)) {
        view.region.remove();
        this.views.delete(id);
      }
    }
  }

  destroy() {
    this.subs.forEach((unsub) => unsub());
    for (const view of this.views.values()) view.region.remove();
    this.views.clear();
  }
}

function chip(r, label) {
  const el = document.createElement('span');
  el.setAttribute('part', 'region-content earmark-chip');
  el.dataset.testid = 'region-chip';
  // At the bottom of the region, and allowed to run past a short region's right edge: the hover plugin's
  // time label sits at the top next to the cursor and used to cover the chip of a short region.
  Object.assign(el.style, {
    display: 'inline-block',
    position: 'absolute',
    left: '2px',
    bottom: '2px',
    zIndex: '4',
    padding: '0 4px',
    font: '600 11px/16px system-ui, -apple-system, "Segoe UI", sans-serif',
    color: '#0f172a',
    background: 'rgba(255, 255, 255, 0.85)',
    borderRadius: '3px',
    whiteSpace: 'nowrap',
    pointerEvents: 'none',
    maxWidth: '240px',
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    boxShadow: '0 0 0 1px rgba(15, 23, 42, 0.15)',
  });
  const bits = [label ? label.name : 'unlabelled'];
  if (r.text) bits.push('✎');
  if (r.fmin !== null && r.fmax !== null) bits.push(`${r.fmin}–${r.fmax} Hz`);
  el.textContent = bits.join(' · ');
  return el;
}

function style(region, r, selected, color) {
  const el = region.element;
  if (!el) return;
  el.dataset.regionId = r.id;
  el.setAttribute('data-testid', 'region');
  el.setAttribute('data-selected', selected ? 'true' : 'false');
  el.setAttribute('data-label', r.label === null ? '' : String(r.label));
  el.style.boxShadow = selected ? `inset 0 0 0 2px ${color}, 0 0 0 1px #fff` : `inset 0 0 0 1px ${withAlpha(color, 0.55)}`;
  el.style.zIndex = selected ? '3' : '';
}
