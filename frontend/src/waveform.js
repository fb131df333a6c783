// wavesurfer.js set up the Earmark way: drawn from stored peaks, audio streamed by a media element.
//
// The browser never fetches or decodes the whole file to draw: WaveSurfer gets `peaks` + `duration`
// and an <audio> element whose src is set as the waveform is created, so the audio's first range
// request runs while the waveform paints (the peaks usually come embedded in the page). When the
// user zooms in past the resolution of the peaks we have, finer peaks are fetched (capped) and
// swapped in.

import WaveSurfer from 'wavesurfer.js';

import { Emitter } from './emitter.js';
import { loadLater } from './load-later.js';
import { peaksToChannels } from './peaks.js';
import { clamp, debounce, formatTime, nextTask } from './util.js';

export const MAX_PX_PER_SEC = 2000;
const HAVE_FUTURE_DATA = 3; // HTMLMediaElement.readyState once it can play
const MAX_PEAK_BUCKETS = 131072; // finest peaks we ask for when zoomed in (~1.5 MB JSON per channel)
const CHANNEL_COLORS = [
  ['#94a3b8', '#475569'],
  ['#a5b4fc', '#4f46e5'],
  ['#86efac', '#15803d'],
  ['#fca5a5', '#b91c1c'],
];

export class Waveform extends Emitter {
  constructor({ container, minimapContainer, api, recording }) {
    super();
    this.container = container;
    this.minimapContainer = minimapContainer;
    this.api = api;
    this.recording = recording;
    this.ws = null;
    this.regions = null;
    this.duration = 0;
    this.peakLength = 0;
    this.peakSpp = null;
    this.media = null;
    this.audioAttached = false;
    this.destroyed = false;
    this.refining = false;
    this._refine = debounce(() => this._refinePeaks(), 400);
  }

  /** Create wavesurfer from a BBC peaks JSON; resolves once the waveform is drawn. */
  async init(peaksJson, duration) {
    const { channels, length, maxPeak, samplesPerPixel } = peaksToChannels(peaksJson);
    this.duration = duration;
    this.peakLength = length;
    this.peakSpp = samplesPerPixel;
    this.channelCount = channels.length;

    // The page's HTML may already hold this recording's <audio> (apps/annotation/pages.py), loading since
    // the HTML arrived; adopt it. Otherwise make one.
    const early = document.querySelector(`audio[data-role="audio"][data-recording="${this.recording.id}"]`);
    this.media = early || document.createElement('audio');
    if (!early) {
      this.media.preload = 'metadata';
      this.media.hidden = true;
      this.media.setAttribute('data-role', 'audio');
      this.media.src = this.api.audioUrl(this.recording.id);
      this.container.after(this.media);
    }
    // The audio streams (range requests) from now on, in parallel with the first paint.
    this.audioAttached = true;

    const multi = channels.length > 1;
    const height = multi ? Math.max(56, Math.floor(176 / channels.length)) : 144;
    // wavesurfer puts a <style> in its shadow root; the page's CSP nonce lets it apply without 'unsafe-inline'.
    const cspNonce = document.documentElement.dataset.cspNonce || undefined;
    this.ws = WaveSurfer.create({
      container: this.container,
      media: this.media,
      cspNonce,
      height,
      waveColor: CHANNEL_COLORS[0][0],
      progressColor: CHANNEL_COLORS[0][1],
      cursorColor: '#dc2626',
      cursorWidth: 2,
      normalize: true,
      maxPeak, // one scale for every lazily drawn canvas, not one per canvas
      minPxPerSec: 0,
      fillParent: true,
      autoScroll: true,
      autoCenter: true,
      dragToSeek: false,
      // Given a media element with a src, wavesurfer loads it when created: with peaks and duration it only
      // draws them (no fetch, no decode) and leaves the element's src alone.
      peaks: channels,
      duration,
      splitChannels: multi
        ? channels.map((_, i) => ({
            waveColor: CHANNEL_COLORS[i % CHANNEL_COLORS.length][0],
            progressColor: CHANNEL_COLORS[i % CHANNEL_COLORS.length][1],
          }))
        : undefined,
    });

    this.ws.on('zoom', () => {
      this.emit('view');
      this._refine();
    });
    this.ws.on('scroll', () => this.emit('view'));
    this.ws.on('resize', () => this.emit('view'));
    this.ws.on('redraw', () => this.emit('view'));
    this.ws.on('timeupdate', (t) => this.emit('time', t));
    this.ws.on('play', () => this.emit('play'));
    this.ws.on('pause', () => this.emit('pause'));
    this.ws.on('error', (err) => this.emit('error', err));

    // Painted: the first time wavesurfer has drawn its canvases (benchmarks/annotator_load.py times it).
    this.ws.once('redrawcomplete', () =>
      requestAnimationFrame(() => window.dispatchEvent(new CustomEvent('earmark:waveform-painted'))),
    );
    // Drawn from peaks once 'ready'. An audio error does not stop the drawing (it is reported through the
    // 'error' event above), so either one ends the wait.
    await new Promise((resolve) => {
      const offs = [this.ws.once('ready', done), this.ws.once('error', done)];
      function done() {
        offs.forEach((off) => off());
        resolve();
      }
    });
    await nextFrame();
    // The plugins come with the second bundle (later.js) and are registered a task each after that frame: the
    // first paint is the waveform alone, and a canplay arriving meanwhile is handled before this work.
    const later = await loadLater();
    for (const plugin of this._plugins(later, { duration, maxPeak, cspNonce })) {
      await nextTask(); // one task each (the minimap draws a second waveform)
      if (this.destroyed || !this.ws) return;
      this.ws.registerPlugin(plugin);
    }
  }

  /** Regions (first: the page's layers need them), timeline, minimap, hover line and wheel zoom. */
  _plugins(later, { duration, maxPeak, cspNonce }) {
    this.regions = later.RegionsPlugin.create();
    const timeline = later.TimelinePlugin.create({
      height: 20,
      style: { fontSize: '11px', color: '#64748b' },
      secondaryLabelOpacity: 0.6,
    });
    adaptTimeline(timeline, () => (this.ws ? this.ws.getWrapper().scrollWidth / duration : 100), duration);
    return [
      this.regions,
      timeline,
      later.MinimapPlugin.create({
        container: this.minimapContainer,
        cspNonce,
        height: 32,
        waveColor: '#cbd5e1',
        progressColor: '#94a3b8',
        cursorColor: '#dc2626',
        overlayColor: 'rgba(37, 99, 235, 0.14)',
        normalize: true,
        maxPeak,
      }),
      later.HoverPlugin.create({
        lineColor: 'rgba(15, 23, 42, 0.45)',
        lineWidth: 1,
        labelBackground: '#0f172a',
        labelColor: '#ffffff',
        labelSize: 11,
        formatTimeCallback: (s) => formatTime(s),
      }),
      later.ZoomPlugin.create({ scale: 0.5, maxZoom: MAX_PX_PER_SEC, deltaThreshold: 5 }),
    ];
  }

  /** Resolves once the audio can play (canplay), fails to load, or `timeoutMs` has passed, whichever is first. */
  whenPlayable(timeoutMs) {
    const media = this.media;
    if (!media || this.destroyed || media.error || media.readyState >= HAVE_FUTURE_DATA) return Promise.resolve();
    return new Promise((resolve) => {
      const events = ['canplay', 'error', 'abort', 'emptied'];
      const done = () => {
        clearTimeout(timer);
        events.forEach((e) => media.removeEventListener(e, done));
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      events.forEach((e) => media.addEventListener(e, done));
    });
  }

  /** Point the media element at the audio; the browser fetches metadata with a range request. */
  attachAudio() {
    if (this.audioAttached || this.destroyed) return;
    this.audioAttached = true;
    this.media.src = this.api.audioUrl(this.recording.id);
  }

  get pxPerSec() {
    if (!this.ws || !this.duration) return 1;
    const width = this.ws.getWrapper().clientWidth || this.ws.getWidth();
    return width / this.duration;
  }

  get fitPxPerSec() {
    return this.ws ? this.ws.getWidth() / this.duration : 1;
  }

  /** [start, end] seconds currently visible. */
  visibleRange() {
    if (!this.ws) return [0, 0];
    const pps = this.pxPerSec;
    const start = this.ws.getScroll() / pps;
    return [start, start + this.ws.getWidth() / pps];
  }

  zoomBy(factor, centerTime = null) {
    if (!this.ws) return;
    const fit = this.fitPxPerSec;
    const next = clamp(this.pxPerSec * factor, fit, MAX_PX_PER_SEC);
    const [a, b] = this.visibleRange();
    const center = centerTime ?? (a + b) / 2;
    try {
      this.ws.zoom(next <= fit * 1.001 ? 0 : next);
    } catch {
      return; // peaks are being swapped; the next key press will work
    }
    this.scrollToCenter(center);
  }

  scrollToCenter(time) {
    if (!this.ws) return;
    const pps = this.pxPerSec;
    this.ws.setScroll(Math.max(0, time * pps - this.ws.getWidth() / 2));
  }

  /** Scroll only if [start, end] is not already in view. */
  reveal(start, end = start) {
    const [a, b] = this.visibleRange();
    if (start >= a && end <= b) return;
    this.scrollToCenter((start + end) / 2);
  }

  get currentTime() {
    return this.ws ? this.ws.getCurrentTime() : 0;
  }

  get playing() {
    return !!this.ws && this.ws.isPlaying();
  }

  seek(t) {
    if (!this.ws) return;
    this.attachAudio();
    this.ws.setTime(clamp(t, 0, this.duration));
  }

  async play(start, end) {
    if (!this.ws) return;
    this.attachAudio();
    this.emit('before-play');
    try {
      await this.ws.play(start, end);
    } catch (err) {
      this.emit('error', err);
    }
  }

  pause() {
    this.ws?.pause();
  }

  playPause() {
    if (this.playing) this.pause();
    else this.play();
  }

  setRate(rate) {
    this.ws?.setPlaybackRate(rate, true);
  }

  async _refinePeaks() {
    if (!this.ws || this.destroyed || this.peakLength >= MAX_PEAK_BUCKETS) return;
    const wanted = Math.min(MAX_PEAK_BUCKETS, Math.ceil(this.duration * this.pxPerSec * 1.5));
    if (wanted < this.peakLength * 1.5) return;
    this.refining = true;
    try {
      await this._swapPeaks(wanted);
    } finally {
      this.refining = false;
    }
  }

  /** True while finer peaks are pending or being swapped in (tests wait for it to settle). */
  get busy() {
    return this.refining || this._refine.pending();
  }

  async _swapPeaks(wanted) {
    let json;
    try {
      json = await this.api.peaks(this.recording.id, wanted);
    } catch {
      return; // keep the coarse waveform
    }
    if (this.destroyed || !json || (json.length || 0) <= this.peakLength) return;
    const { channels, length, samplesPerPixel } = peaksToChannels(json);
    if (channels.length !== this.channelCount) return;
    this.peakLength = length;
    this.peakSpp = samplesPerPixel;
    const scroll = this.ws.getScroll();
    const src = this.media.getAttribute('src') ? this.media.src : '';
    // Same src → wavesurfer keeps the media element (and playback) untouched; only the drawing changes.
    await this.ws.load(src, channels, this.duration).catch(() => {});
    if (this.destroyed) return;
    this.ws.setScroll(scroll);
    this.emit('view');
  }

  destroy() {
    this.destroyed = true;
    this._refine.cancel();
    try {
      this.ws?.destroy();
    } catch {
      /* already gone */
    }
    if (this.media) {
      this.media.pause();
      this.media.removeAttribute('src');
      this.media.load();
      this.media.remove();
    }
    this.ws = null;
  }
}

// The Timeline plugin's default intervals stop at 1 s ticks and 10 s labels, which says nothing
// about a zoomed-in view of a short clip. It re-reads its options on every redraw, so we define
// them as getters computed from the current zoom: ticks ≥ 10 px apart, labels ≥ 90 px apart, and
// never more than ~15k notches (the plugin creates one element per notch).
const STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

export function timelineScale(pxPerSec, duration) {
  const minTick = Math.max(10 / pxPerSec, duration / 15000);
  const tick = STEPS.find((s) => s >= minTick) || 3600;
  const multiple = (px) => {
    const s = STEPS.find((x) => x >= tick && x * pxPerSec >= px && isMultiple(x, tick)) || tick;
    return Math.max(1, Math.round(s / tick));
  };
  const primary = multiple(90);
  // Secondary labels sit between primary ones, so their spacing must divide the primary spacing
  // (5 s labels with 2 s labels between them would collide).
  let secondary = multiple(45);
  while (secondary < primary && primary % secondary) secondary++;
  const labelled = secondary < primary && secondary * tick * pxPerSec >= 45 ? secondary : 0;
  // Secondary notches are labelled too: the finest labelled step decides the decimals (0.5 s labels need one).
  const labelStep = tick * (labelled || primary);
  // As many decimals as the label step needs to be exact (0.25 s steps need two: "0:00.25", not "0:00.3").
  let decimals = 0;
  while (decimals < 3 && Math.abs(labelStep * 10 ** decimals - Math.round(labelStep * 10 ** decimals)) > 1e-6) decimals++;
  return { tick, primary, secondary: labelled, decimals };
}

function isMultiple(x, tick) {
  const r = x / tick;
  return Math.abs(r - Math.round(r)) < 1e-6;
}

function adaptTimeline(plugin, pxPerSec, duration) {
  const scale = () => timelineScale(pxPerSec(), duration);
  const opts = plugin.options;
  const getter = (fn) => ({ get: fn, configurable: true, enumerable: true });
  Object.defineProperties(opts, {
    timeInterval: getter(() => scale().tick),
    primaryLabelSpacing: getter(() => scale().primary),
    secondaryLabelSpacing: getter(() => scale().secondary || undefined),
    // Labels come from the notch spacings above; huge intervals switch the plugin's
    // own (centisecond-rounded) interval test off except at 0.
    primaryLabelInterval: getter(() => 1e9),
    secondaryLabelInterval: getter(() => 1e9),
    formatTimeCallback: getter(() => {
      const { decimals } = scale();
      return (s) => formatClock(s, decimals);
    }),
  });
}

function formatClock(seconds, decimals) {
  const total = Math.round(seconds * 10 ** decimals) / 10 ** decimals;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const ss = (total % 60).toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}
