// Earmark browser annotator: entry point.
//
// Reads the page config (json_script "annotator-config"), opens an item (queue/next or the given
// annotation), and wires the modules together:
//   api.js          the HTTP contract (docs/annotator-api.md)
//   store.js        the annotation document, selection, undo/redo
//   waveform.js     wavesurfer from stored peaks + streamed audio
//   regions.js      Store ↔ Regions plugin
//   suggestions.js  voiced segments as suggested regions
//   spectrogram.js  tile-based spectrogram and time-frequency boxes
//   channels.js     solo / mute per channel
//   autosave.js     debounced PUT, retry, drafts, conflicts
//   panel.js        side panel; review.js review decisions; keyboard.js shortcuts + help

import { Api, ApiError } from './api.js';
import { Autosave, SAVE_TEXT, docContent, readDraft, removeDrafts } from './autosave.js';
import { ChannelMixer } from './channels.js';
import { byRole, byTestId } from './dom.js';
import { installKeyboard, renderHelp } from './keyboard.js';
import { SidePanel } from './panel.js';
import { peaksDuration } from './peaks.js';
import { RegionsView } from './regions.js';
import { ReviewPanel } from './review.js';
import { Spectrogram } from './spectrogram.js';
import { Store } from './store.js';
import { SuggestionsLayer } from './suggestions.js';
import { clamp, debounce, formatTime } from './util.js';
import { Waveform } from './waveform.js';

const REPLAY_HALF = 0.3; // nudges replay ±0.3 s around the moved boundary
const PROCESSING_POLL_MS = 3000;

class AnnotatorPage {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.mode = config.mode === 'review' ? 'review' : 'annotate';
    this.api = new Api({ apiBase: config.api_base || '/api/v1', csrfToken: config.csrf_token || '' });
    this.store = new Store();
    this.item = null;
    this.schema = null;
    this.loop = false;
    this.rate = 1;
    this.markIn = null;
    this.busy = false;
    this.showSpectrogram = false;
    this.helpReturnFocus = null;
    this.noticeTimer = null;
    this._replay = debounce((t) => this._playAround(t), 140);

    const q = (id) => byTestId(root, id);
    this.el = {
      title: q('recording-title'),
      badge: byRole(root, 'status-badge'),
      saveState: q('save-state'),
      help: q('help-overlay'),
      helpList: byRole(root, 'help-list'),
      helpClose: byRole(root, 'help-close'),
      helpButton: q('help-button'),
      submit: root.querySelector('[data-testid="submit-button"]'),
      skip: root.querySelector('[data-testid="skip-button"]'),
      rejection: q('rejection-comment'),
      conflict: q('conflict-banner'),
      conflictMsg: byRole(root, 'conflict-message'),
      loadTheirs: byRole(root, 'load-theirs'),
      overwriteMine: byRole(root, 'overwrite-mine'),
      notice: byRole(root, 'notice'),
      empty: q('empty-queue'),
      workspace: q('interactive'),
      waveform: q('waveform'),
      placeholder: byRole(root, 'wave-placeholder'),
      minimap: byRole(root, 'minimap'),
      spectrogram: q('spectrogram'),
      spectrogramToggle: q('spectrogram-toggle'),
      channels: byRole(root, 'channels'),
      play: q('play-button'),
      playRegion: q('play-region-button'),
      loop: q('loop-button'),
      time: byRole(root, 'time'),
      speed: q('speed-select'),
      zoomIn: q('zoom-in'),
      zoomOut: q('zoom-out'),
    };
    this.review =
      this.mode === 'review' ? new ReviewPanel({ panel: q('review-panel'), onDecision: (d, c) => this.decide(d, c) }) : null;
  }

  // --- boot ------------------------------------------------------------------------------------

  async start() {
    renderHelp(this.el.helpList, { mode: this.mode });
    this._bindControls();
    this._bindStore();
    installKeyboard({
      actions: this._actions(),
      labelHotkey: (e) => this._labelHotkey(e),
      enabled: () => !!this.item || this._helpOpen,
    });
    this.labelsPromise = this.api.labels(this.config.project_id);
    this.labelsPromise.catch(() => {}); // reported when awaited
    try {
      if (this.config.annotation_id) {
        const annotation = await this.api.annotation(this.config.annotation_id);
        await this.openItem(annotation, null);
      } else {
        await this.openNext();
      }
    } catch (err) {
      this.fail(err);
    }
  }

  fail(err) {
    console.error(err);
    const detail = err instanceof ApiError ? err.detail : err?.message || String(err);
    this.notice(`Something went wrong: ${detail}`, 'error', 0);
    this.el.placeholder.textContent = 'The annotator could not load this item.';
  }

  async openNext() {
    const res = this.mode === 'review' ? await this.api.reviewNext(this.config.project_id) : await this.api.queueNext(this.config.project_id);
    if (!res || !res.annotation) {
      this.teardownItem();
      this.el.workspace.hidden = true;
      this.el.empty.hidden = false;
      this.el.title.textContent = 'Queue empty';
      this.el.badge.hidden = true;
      this.review?.show(false);
      this._setButtonsEnabled(false);
      return;
    }
    if (/\/annotations\/\d+\/(edit|review)\/?$/.test(window.location.pathname)) {
      // The page URL named the previous item; point it at the queue so a reload continues here.
      const path = this.mode === 'review' ? null : `/projects/${this.config.project_id}/annotate/`;
      if (path) window.history.replaceState(null, '', path);
    }
    await this.openItem(res.annotation, res.recording || null);
  }

  // --- one item --------------------------------------------------------------------------------

  async openItem(annotation, recording) {
    this.teardownItem();
    this.el.empty.hidden = true;
    this.el.workspace.hidden = false;
    this.el.workspace.dataset.ready = 'false';
    this.el.placeholder.hidden = false;
    this.el.placeholder.textContent = 'Loading waveform…';
    this.el.rejection.hidden = true;
    this.el.conflict.hidden = true;
    this.markIn = null;
    this.review?.reset();
    this.review?.show(true);

    const rid = typeof annotation.recording === 'object' ? annotation.recording.id : annotation.recording;
    const width = this.el.waveform.clientWidth || 1000;
    const maxLength = clamp(Math.round(width * 4), 2000, 16000);
    // Everything the first paint needs, in parallel; voiced segments and tiles follow on their own.
    const voicedPromise = this.api.voicedSegments(rid).catch(() => null);
    const tilesPromise = this.api.tileIndex(rid).catch(() => null);
    const [schema, rec, peaks] = await Promise.all([
      this.labelsPromise,
      recording && recording.duration ? recording : this.api.recording(rid),
      this.api.peaks(rid, maxLength).catch((err) => {
        if (err.status === 404) return null;
        throw err;
      }),
    ]);
    this.schema = schema;
    this.el.title.textContent = rec.original_name || `Recording ${rec.id}`;
    document.title = `${rec.original_name || 'Recording'} · ${this.mode === 'review' ? 'Review' : 'Annotate'} · Earmark`;
    this.el.badge.hidden = !annotation.status;
    this.el.badge.textContent = (annotation.status || '').replace('_', ' ');
    this.el.badge.dataset.status = annotation.status || '';
    if (annotation.status === 'rejected' && annotation.review_comment) {
      this.el.rejection.hidden = false;
      this.el.rejection.textContent = `Returned by the reviewer: ${annotation.review_comment}`;
    }

    if (!peaks) {
      this._waitForProcessing(annotation, rec);
      return;
    }

    const duration = rec.duration || peaksDuration(peaks);
    const channelCount = Math.max(1, rec.channels || peaks.channels || 1);
    const item = { annotation, recording: rec, duration, channelCount, subs: [] };
    this.item = item;
    this.store.duration = duration;
    this.store.reset({ regions: annotation.regions, clip_labels: annotation.clip_labels }, duration);

    const waveform = new Waveform({ container: this.el.waveform, minimapContainer: this.el.minimap, api: this.api, recording: rec });
    item.waveform = waveform;
    await waveform.init(peaks, duration);
    if (this.item !== item) return waveform.destroy(); // another item was opened meanwhile

    this.labels = new Map((schema.region_labels || []).map((l) => [l.id, l]));
    item.regionsView = new RegionsView({ waveform, store: this.store, labels: this.labels });
    item.regionsView.newRegionFields = () => ({ label: this.panel?.armedLabel ?? null });
    item.regionsView.onLive = (id, start, end) => {
      this.panel.showLive(id, start, end);
      if (item.spectrogram) {
        item.spectrogram.live = { id, start, end };
        item.spectrogram.draw();
      }
    };
    item.regionsView.onMoved = () => {
      if (item.spectrogram) item.spectrogram.live = null;
    };
    item.suggestions = new SuggestionsLayer({
      waveform,
      store: this.store,
      dismissedKey: `earmark:dismissed:${annotation.id}`,
      onAccept: (id, label) => this.acceptSuggestion(id, label),
      onSelect: (id) => this.selectSuggestion(id),
    });
    this.panel = new SidePanel({ root: this.root, store: this.store, schema, channelCount, actions: this._panelActions() });

    if (channelCount > 1) {
      item.mixer = new ChannelMixer({ media: waveform.media, count: channelCount, bar: this.el.channels });
      this.el.channels.hidden = false;
    }

    if (this.mode === 'annotate') {
      item.autosave = new Autosave({ api: this.api, store: this.store, annotationId: annotation.id, version: annotation.version });
      item.subs.push(
        item.autosave.on('state', (state, detail) => this._showSaveState(state, detail)),
        item.autosave.on('conflict', (current) => this._showConflict(current)),
        item.autosave.on('resolved', () => {
          this.el.conflict.hidden = true;
        }),
      );
      this._showSaveState('saved');
      this._restoreDraft(annotation, item.autosave);
    }

    this._bindWaveform(item);
    waveform.setRate(this.rate);
    this._renderAll();
    this._setButtonsEnabled(true);

    // Interactive: the waveform is drawn from peaks and takes input. Audio streams from here on.
    this.el.placeholder.hidden = true;
    this.el.workspace.dataset.ready = 'true';
    window.dispatchEvent(new CustomEvent('earmark:annotator-ready', { detail: { annotationId: annotation.id } }));
    setTimeout(() => waveform.attachAudio(), 0);

    voicedPromise.then((v) => {
      if (this.item !== item) return;
      item.voiced = (v && v.segments) || [];
      item.suggestions.setSegments(item.voiced);
      this._renderPanel();
    });
    tilesPromise.then((index) => {
      if (this.item !== item || !index || !(index.levels || []).length) return;
      item.spectrogram = new Spectrogram({
        strip: this.el.spectrogram,
        api: this.api,
        recordingId: rec.id,
        index,
        waveform,
        store: this.store,
        labelColor: (id) => item.regionsView.labelColor(id),
        onBox: (box, opts) => this._onSpectrogramBox(box, opts),
        onPick: (t, f) => this._onSpectrogramPick(t, f),
      });
      this.el.spectrogramToggle.disabled = false;
      item.spectrogram.setVisible(this.showSpectrogram);
    });
  }

  _waitForProcessing(annotation, rec) {
    const pct = rec.processing && rec.processing.percent != null ? ` (${Math.round(rec.processing.percent)}%)` : '';
    this.el.placeholder.textContent = `This recording is still being processed${pct}. The waveform appears when it is ready.`;
    this._setButtonsEnabled(false);
    if (this.el.skip) this.el.skip.disabled = false;
    this.item = { annotation, recording: rec, waiting: true, subs: [] };
    const item = this.item;
    item.poll = setTimeout(async () => {
      if (this.item !== item) return;
      try {
        await this.openItem(annotation, await this.api.recording(rec.id));
      } catch (err) {
        this.fail(err);
      }
    }, PROCESSING_POLL_MS);
  }

  _restoreDraft(annotation, autosave) {
    const draft = readDraft(annotation.id);
    if (!draft) return;
    const server = { regions: annotation.regions, clip_labels: annotation.clip_labels };
    if (docContent(draft) === docContent(server)) {
      removeDrafts(annotation.id);
      return;
    }
    if (draft.base_version === annotation.version) {
      // Unsaved edits from this browser on top of the version we have: restore and save them.
      this.store.replace(draft, { source: 'draft' });
      this.notice('Restored unsaved changes from this browser; saving them now.', 'info');
    } else {
      // The server moved on since the draft was made: keep both, show mine, let the user choose.
      // Conflict first, so nothing is sent; the draft stays keyed by the version it was based on.
      autosave.version = draft.base_version;
      autosave.startConflict(annotation);
      this.store.replace(draft, { source: 'draft' });
    }
  }

  teardownItem() {
    const item = this.item;
    this.item = null;
    if (!item) return;
    clearTimeout(item.poll);
    item.subs.forEach((unsub) => unsub());
    item.autosave?.destroy();
    item.spectrogram?.destroy();
    item.suggestions?.destroy();
    item.regionsView?.destroy();
    item.mixer?.destroy();
    item.waveform?.destroy();
    this.el.channels.hidden = true;
    this.el.spectrogram.hidden = true;
    this.el.spectrogramToggle.disabled = true;
    this.el.workspace.dataset.ready = 'false';
    this.panel = null;
    this._replay.cancel();
  }

  // --- wiring ----------------------------------------------------------------------------------

  _bindControls() {
    const el = this.el;
    el.play.addEventListener('click', () => this.playPause());
    el.playRegion.addEventListener('click', () => this.playRegion());
    el.loop.addEventListener('click', () => this.toggleLoop());
    el.zoomIn.addEventListener('click', () => this.zoom(1.5));
    el.zoomOut.addEventListener('click', () => this.zoom(1 / 1.5));
    el.spectrogramToggle.addEventListener('click', () => this.toggleSpectrogram());
    el.speed.addEventListener('change', () => {
      this.rate = Number(el.speed.value) || 1;
      this.item?.waveform?.setRate(this.rate);
    });
    el.helpButton.addEventListener('click', () => this.toggleHelp());
    el.helpClose.addEventListener('click', () => this.toggleHelp(false));
    el.help.addEventListener('click', (e) => {
      if (e.target === el.help) this.toggleHelp(false);
    });
    el.submit?.addEventListener('click', () => this.submit());
    el.skip?.addEventListener('click', () => this.skip());
    el.loadTheirs.addEventListener('click', () => this.item?.autosave?.loadTheirs());
    el.overwriteMine.addEventListener('click', () => this.item?.autosave?.overwriteMine());
  }

  _bindStore() {
    this.store.on('change', ({ source }) => {
      if (!this.item || !this.item.regionsView) return;
      this.item.regionsView.sync();
      this.item.suggestions.refresh();
      this._renderPanel();
      this.item.spectrogram?.draw();
      if (source !== 'reset') this.item.autosave?.schedule();
    });
    this.store.on('select', (id) => {
      if (!this.item || !this.item.regionsView) return;
      if (id) this.item.suggestions.select(null);
      this.item.regionsView.sync();
      this._renderPanel();
      this.item.spectrogram?.draw();
    });
  }

  _bindWaveform(item) {
    const { waveform } = item;
    let raf = 0;
    const redrawView = () => {
      if (raf) return;
      raf = requestAnimationFrame(() => {
        raf = 0;
        item.suggestions.render();
        item.spectrogram?.draw();
      });
    };
    item.subs.push(
      waveform.on('view', redrawView),
      waveform.on('time', (t) => {
        this._updateTime(t);
        this._loopCheck(t);
        if (item.spectrogram?.visible) item.spectrogram.draw();
      }),
      waveform.on('play', () => this._updatePlayButton(true)),
      waveform.on('pause', () => this._updatePlayButton(false)),
      waveform.on('before-play', () => item.mixer?.resume()),
      waveform.on('error', (err) => {
        const msg = err && err.message ? err.message : 'The audio could not be played.';
        this.notice(`Audio: ${msg}`, 'error');
      }),
    );
    const offClick = waveform.ws.on('click', () => {
      if (item.regionsView.clickedRegionJustNow || performance.now() - (this._suggestionClickAt || 0) < 300) return;
      this.deselect();
    });
    item.subs.push(offClick);
    this._updateTime(0);
  }

  _renderAll() {
    this.item.regionsView.sync();
    this.item.suggestions.refresh();
    this._renderPanel();
  }

  _renderPanel() {
    if (!this.item || !this.panel) return;
    const s = this.item.suggestions;
    this.panel.update({
      suggestions: s ? s.visible : [],
      selectedSuggestion: s && s.selectedId ? s.get(s.selectedId) : null,
      dismissedCount: s ? s.dismissed.size : 0,
    });
    const hasTarget = !!this._playTarget();
    this.el.playRegion.disabled = !hasTarget;
  }

  _setButtonsEnabled(enabled) {
    for (const b of [this.el.submit, this.el.skip, this.el.play, this.el.playRegion, this.el.loop, this.el.zoomIn, this.el.zoomOut]) {
      if (b) b.disabled = !enabled;
    }
  }

  _actions() {
    return {
      playPause: () => this.playPause(),
      playRegion: () => this.playRegion(),
      toggleLoop: () => this.toggleLoop(),
      seekBy: (d) => this.seekBy(d),
      seekEdge: (end) => this.seek(end ? this.item.duration : 0),
      zoom: (f) => this.zoom(f),
      zoomFit: () => this.zoomFit(),
      toggleSpectrogram: () => this.toggleSpectrogram(),
      mark: (which) => this.mark(which),
      step: (dir) => this.step(dir),
      labelDigit: (n) => this.labelDigit(n),
      clearLabel: () => this.setLabel(null),
      clipDigit: (n) => this.clipDigit(n),
      enter: () => this.enter(),
      focusTranscript: () => this.panel?.focusTranscript() ?? false,
      cycleChannel: () => this.cycleChannel(),
      deleteSelected: () => this.deleteSelected(),
      escape: () => this.escape(),
      nudge: ([side, delta]) => this.nudge(side, delta),
      snap: () => this.snap(),
      undo: () => this.undo(),
      redo: () => this.redo(),
      saveNow: () => {
        this.item?.autosave?.flush();
      },
      submit: () => {
        if (this.mode !== 'annotate') return false;
        this.submit();
      },
      toggleHelp: () => this.toggleHelp(),
    };
  }

  _panelActions() {
    return {
      chooseLabel: (id) => this.chooseLabel(id),
      toggleClipLabel: (id) => this.toggleClipLabel(id),
      playRegion: () => this.playRegion(),
      deleteSelected: () => this.deleteSelected(),
      selectRegion: (id, opts) => this.selectRegion(id, opts),
      acceptAllSuggestions: () => this.acceptAllSuggestions(),
      dismissAllSuggestions: () => this.dismissAllSuggestions(),
      restoreSuggestions: () => this.restoreSuggestions(),
    };
  }

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

  // --- editing ---------------------------------------------------------------------------------

  _regionLabelForDigit(n) {
    const labels = this.schema?.region_labels || [];
    return labels.find((l, i) => SidePanel.hotkeyOf(l, i) === String(n)) || null;
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
    const label = labels.find((l, i) => SidePanel.hotkeyOf(l, i).toLowerCase() === k);
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
    const label = labels.find((l, i) => SidePanel.hotkeyOf(l, i) === String(n));
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
    const newId = this.store.addRegion({ start: s.start, end: s.end, label: labelId ?? this.panel?.armedLabel ?? null });
    this.item.suggestions.select(null);
    this.store.select(newId);
  }

  acceptAllSuggestions() {
    const list = this.item?.suggestions?.visible || [];
    if (!list.length) return;
    const label = this.panel?.armedLabel ?? null;
    this.store.commit((d) => {
      for (const s of list) d.regions.push({ id: undefined, start: s.start, end: s.end, label, text: '', attributes: {}, channel: null, fmin: null, fmax: null });
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

  // --- save, submit, skip, review --------------------------------------------------------------

  _showSaveState(state, detail = '') {
    const el = this.el.saveState;
    el.dataset.state = state;
    el.textContent = state === 'error' && detail ? `${SAVE_TEXT.error} — ${detail}` : SAVE_TEXT[state] || state;
    el.title = state === 'retrying' ? 'The server could not be reached. Your changes are kept in this browser and will be sent when it answers.' : detail || '';
  }

  _showConflict(current) {
    const version = current && current.version !== undefined ? current.version : '?';
    this.el.conflictMsg.textContent =
      `Someone else saved this annotation (version ${version}). Your changes were kept as a draft. ` +
      'Load theirs (yours stay one Ctrl+Z away) or overwrite with yours.';
    this.el.conflict.hidden = false;
  }

  async submit() {
    const item = this.item;
    if (this.mode !== 'annotate' || this.busy || !item || !item.autosave) return;
    this.busy = true;
    this._setButtonsEnabled(false);
    this.notice('Submitting…', 'info', 0);
    try {
      const saved = await item.autosave.flush();
      if (!saved) {
        const state = item.autosave.state;
        this.notice(
          state === 'conflict'
            ? 'Resolve the conflict before submitting.'
            : state === 'retrying'
              ? 'Not submitted: the server cannot be reached. Your work is kept here and saves when the connection returns.'
              : `Not submitted: ${item.autosave.detail || 'the last save failed.'}`,
          'error',
          0,
        );
        return;
      }
      try {
        await this.api.submit(item.annotation.id, item.autosave.version);
      } catch (err) {
        if (err.status === 409) {
          const current = (err.body && err.body.current) || (await this.api.annotation(item.annotation.id).catch(() => null));
          item.autosave.startConflict(current);
          this.notice('Not submitted: someone else saved this annotation meanwhile.', 'error', 0);
          return;
        }
        throw err;
      }
      removeDrafts(item.annotation.id);
      this.notice('Submitted. Opening the next recording…', 'info');
      await this.openNext();
      if (this.item) this.notice('Submitted. Here is the next one.', 'info');
    } catch (err) {
      this.notice(`Not submitted: ${err.detail || err.message}`, 'error', 0);
    } finally {
      this.busy = false;
      if (this.item && !this.item.waiting) this._setButtonsEnabled(true);
    }
  }

  async skip() {
    const item = this.item;
    if (this.mode !== 'annotate' || this.busy || !item) return;
    this.busy = true;
    this._setButtonsEnabled(false);
    try {
      if (item.autosave) await item.autosave.flush();
      await this.api.skip(item.annotation.id);
      removeDrafts(item.annotation.id);
      await this.openNext();
      if (this.item) this.notice('Skipped. It goes back to the queue for someone else.', 'info');
    } catch (err) {
      this.notice(`Not skipped: ${err.detail || err.message}`, 'error', 0);
    } finally {
      this.busy = false;
      if (this.item && !this.item.waiting) this._setButtonsEnabled(true);
    }
  }

  async decide(decision, comment) {
    const item = this.item;
    if (!item) return;
    const doc = this.store.doc;
    await this.api.review(item.annotation.id, { decision, comment, regions: doc.regions, clip_labels: doc.clip_labels });
    await this.openNext();
    if (this.item) this.notice(`Recorded “${decision}”. Here is the next one.`, 'info');
  }

  // --- help & notices --------------------------------------------------------------------------

  get _helpOpen() {
    return !this.el.help.hidden;
  }

  toggleHelp(force) {
    const open = force === undefined ? !this._helpOpen : force;
    if (open === this._helpOpen) return;
    this.el.help.hidden = !open;
    this.el.helpButton.setAttribute('aria-expanded', String(open));
    if (open) {
      this.helpReturnFocus = document.activeElement;
      this.el.helpClose.focus();
    } else if (this.helpReturnFocus && this.helpReturnFocus.focus) {
      this.helpReturnFocus.focus();
    }
  }

  notice(text, kind = 'info', timeout = 4000) {
    const el = this.el.notice;
    clearTimeout(this.noticeTimer);
    el.textContent = text;
    el.dataset.kind = kind;
    el.hidden = false;
    if (timeout) this.noticeTimer = setTimeout(() => (el.hidden = true), timeout);
  }
}

function findLastIndex(list, pred) {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i])) return i;
  return -1;
}

function boot() {
  const root = document.getElementById('annotator');
  const configEl = document.getElementById('annotator-config');
  if (!root || !configEl) return;
  const config = JSON.parse(configEl.textContent);
  const page = new AnnotatorPage(root, config);
  window.earmarkAnnotator = page; // handy in the console and for browser tests
  page.start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
