// Playback, zoom, the spectrogram toggle, and selection (N / P stepping).
// Methods of the annotator page (mixed into AnnotatorPage in main.js; `this` is the page).

import { clamp, formatTime } from './util.js';

const REPLAY_HALF = 0.3; // nudges replay ±0.3 s around the moved boundary

export class PagePlayback {
  // --- playback --------------------------------------------------------------------------------

  get waveform() {
    return this.item && this.item.waveform && this.item.waveform.ws ? this.item.waveform : null;
  }

  /** The selected region, or the selected suggestion. */
  _playTarget() {
    if (!this.item) return null;
    const r = this.store.selected;
    if (r) return r;
    const s = this.item.suggestions;
    return s && s.selectedId ? s.get(s.selectedId) : null;
  }

  playPause() {
    const wf = this.waveform;
    if (!wf) return false;
    if (!wf.playing && this.loop) {
      const target = this._playTarget();
      if (target && (wf.currentTime < target.start || wf.currentTime >= target.end)) return wf.play(target.start);
    }
    wf.playPause();
  }

  playRegion() {
    const wf = this.waveform;
    const target = this._playTarget();
    if (!wf || !target) return false;
    wf.reveal(target.start, target.end);
    if (this.loop) wf.play(target.start);
    else wf.play(target.start, target.end);
  }

  toggleLoop() {
    this.loop = !this.loop;
    this.el.loop.setAttribute('aria-pressed', String(this.loop));
    if (this.loop && this.waveform && !this.waveform.playing && this._playTarget()) this.playRegion();
  }

  _loopCheck(t) {
    if (!this.loop || !this.waveform?.playing) return;
    const target = this._playTarget();
    if (target && t >= target.end && t - target.end < 0.5) this.waveform.seek(target.start);
  }

  _playAround(t) {
    const wf = this.waveform;
    if (!wf) return;
    const start = Math.max(0, t - REPLAY_HALF);
    wf.play(start, Math.min(this.item.duration, t + REPLAY_HALF));
  }

  seek(t) {
    const wf = this.waveform;
    if (!wf) return false;
    wf.seek(t);
    wf.reveal(t);
  }

  seekBy(delta) {
    const wf = this.waveform;
    if (!wf) return false;
    this.seek(clamp(wf.currentTime + delta, 0, this.item.duration));
  }

  zoom(factor) {
    const wf = this.waveform;
    if (!wf) return false;
    const target = this._playTarget();
    const [a, b] = wf.visibleRange();
    const t = wf.currentTime;
    const center = target ? (target.start + target.end) / 2 : t >= a && t <= b ? t : (a + b) / 2;
    wf.zoomBy(factor, center);
  }

  zoomFit() {
    const wf = this.waveform;
    if (!wf) return false;
    wf.zoomBy(0);
  }

  toggleSpectrogram() {
    const sp = this.item?.spectrogram;
    if (!sp) {
      this.notice('No spectrogram tiles for this recording yet.', 'info');
      return;
    }
    this.showSpectrogram = !this.showSpectrogram;
    this.el.spectrogramToggle.setAttribute('aria-pressed', String(this.showSpectrogram));
    sp.setVisible(this.showSpectrogram);
  }

  _updateTime(t) {
    if (this._timeFrame) return;
    this._timeFrame = requestAnimationFrame(() => {
      this._timeFrame = 0;
      if (!this.item) return;
      const now = this.waveform ? this.waveform.currentTime : t;
      this.el.time.textContent = `${formatTime(now)} / ${formatTime(this.item.duration)}`;
    });
  }

  _updatePlayButton(playing) {
    this.el.play.textContent = playing ? '❚❚' : '▶';
    this.el.play.setAttribute('aria-label', playing ? 'Pause (Space)' : 'Play (Space)');
  }

  // --- selection -------------------------------------------------------------------------------

  selectRegion(id, { play = false, reveal = true } = {}) {
    this.store.select(id);
    const r = this.store.region(id);
    if (!r || !this.waveform) return;
    if (reveal) this.waveform.reveal(r.start, r.end);
    if (play) this.waveform.play(r.start, r.end);
    else if (!this.waveform.playing) this.waveform.seek(r.start);
  }

  selectSuggestion(id, { play = false } = {}) {
    this._suggestionClickAt = performance.now();
    this.store.select(null);
    this.item.suggestions.select(id);
    this._renderPanel();
    const s = this.item.suggestions.get(id);
    if (s && play) {
      this.waveform.reveal(s.start, s.end);
      this.waveform.play(s.start, s.end);
    }
  }

  deselect() {
    if (!this.item) return false;
    const had = !!this.store.selectedId || !!this.item.suggestions?.selectedId;
    this.store.select(null);
    if (this.item.suggestions?.selectedId) {
      this.item.suggestions.select(null);
      this._renderPanel();
    }
    return had;
  }

  /** n / p: regions and suggestions together, in time order. */
  step(dir) {
    if (!this.item?.suggestions) return false;
    const items = [
      ...this.store.regions.map((r) => ({ kind: 'region', id: r.id, start: r.start, end: r.end })),
      ...this.item.suggestions.visible.map((s) => ({ kind: 'suggestion', id: s.id, start: s.start, end: s.end })),
    ].sort((a, b) => a.start - b.start || a.end - b.end);
    if (!items.length) {
      this.notice('No regions or suggestions yet.', 'info');
      return;
    }
    const current = this._playTarget();
    let index;
    if (current) {
      const at = items.findIndex((x) => x.id === current.id);
      index = at + dir;
    } else {
      const t = this.waveform.currentTime;
      index = dir > 0 ? items.findIndex((x) => x.start >= t - 1e-3) : findLastIndex(items, (x) => x.start < t - 1e-3);
    }
    if (index < 0 || index >= items.length) {
      this.notice(dir > 0 ? 'That was the last one.' : 'That was the first one.', 'info');
      return;
    }
    const next = items[index];
    if (next.kind === 'region') this.selectRegion(next.id, { play: true });
    else this.selectSuggestion(next.id, { play: true });
  }

}

function findLastIndex(list, pred) {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i])) return i;
  return -1;
}
