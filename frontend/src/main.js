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
//   page-*.js       the page's methods by concern (wiring, playback, editing, workflow), mixed in below
//   later.js        what the first paint does not need (panel, layers, spectrogram, plugins): a second bundle,
//                   imported once the waveform is drawn (load-later.js)

import { Api, ApiError } from './api.js';
import { Autosave, docContent, readDraft, removeDrafts } from './autosave.js';
import { byRole, byTestId } from './dom.js';
import { installKeyboard, renderHelp } from './keyboard.js';
import { peaksDuration } from './peaks.js';
import { ReviewPanel } from './review.js';
import { Store } from './store.js';
import { clamp, debounce, mixInto, nextTask } from './util.js';
import { Waveform } from './waveform.js';
import { loadLater } from './load-later.js';
import { PageEditing } from './page-editing.js';
import { PagePlayback } from './page-playback.js';
import { PageWiring } from './page-wiring.js';
import { PageWorkflow } from './page-workflow.js';

// The same wavesurfer build, for benchmarks/annotator_load.py's naive baseline page.
export { default as WaveSurfer } from 'wavesurfer.js';

const PROCESSING_POLL_MS = 3000;
// The extras (_loadExtras) wait for the audio to be playable, but no longer than this after the first paint
// (audio that is slow or refused must not keep the suggestions away).
const EXTRAS_WAIT_MS = 1500;

/** The parsed JSON of a json_script element, or null when the page has none (or it does not parse). */
function readJsonScript(id) {
  const el = document.getElementById(id);
  if (!el) return null;
  try {
    return JSON.parse(el.textContent);
  } catch {
    return null;
  }
}

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
    this._progressPending = false; // the embedded first item came without its queue counts
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
      previous: root.querySelector('[data-testid="previous-button"]'),
      next: root.querySelector('[data-testid="next-button"]'),
      recordingLink: byRole(root, 'recording-link'),
      annotatorName: byRole(root, 'annotator-name'),
      progress: byRole(root, 'progress'),
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
    // The bundle runs as soon as it has loaded (an async module script after the page's markup), while the server
    // may still be claiming the first item: the set-up above overlaps that wait. The item follows the markup.
    // The second bundle (later.js) loads meanwhile too, while the main thread has nothing else to do.
    if (document.readyState === 'loading') loadLater().catch(() => {}); // a failure is reported where it is awaited
    await documentParsed();
    // The early <audio> (apps/annotation/pages.py) starts loading from a task of its own, queued as the parser
    // inserted it; opening the item in the next task lets that go first, before the long task that draws.
    if (document.querySelector('audio[data-role="audio"]')) await nextTask();
    // The page embeds its first item (labels, the queue's answer or the named annotation, its recording and
    // first peaks; apps/annotation/pages.py), so the first paint needs no API round trip. Used once.
    const first = this.mode === 'annotate' ? readJsonScript('annotator-first') : null;
    this.labelsPromise = first ? Promise.resolve(first.labels) : this.api.labels(this.config.project_id);
    this.labelsPromise.catch(() => {}); // reported when awaited
    try {
      if (first && first.item && this.config.annotation_id) {
        await this.openItem(first.item.annotation, first.item.recording, first.peaks);
      } else if (first) {
        await this.openNext(first.item, first.peaks);
      } else if (this.config.annotation_id) {
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

  /** Open the queue's next item; `embedded` (the page's own copy of the queue's answer) skips the request.
   *  The answer carries the item's first peaks, so drawing it needs no second request. */
  async openNext(embedded, embeddedPeaks = null) {
    const order = new URLSearchParams(window.location.search).get('order');
    const res =
      embedded !== undefined
        ? embedded
        : this.mode === 'review'
          ? await this.api.reviewNext(this.config.project_id, order)
          : await this.api.queueNext(this.config.project_id);
    this._showProgress(res && res.progress);
    // The page's embed and queueNext leave the progress counts out: _loadExtras asks for them once the item is
    // drawn and playable (an aggregate over the project's recordings, off the path the annotator waits on).
    this._progressPending = this.mode === 'annotate' && !!res && !!res.annotation && !res.progress;
    this.annotatorName = (res && res.annotator_name) || null;
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
    // queue/next/ embeds the item's first peaks (null before processing: openItem then asks the peaks endpoint).
    await this.openItem(res.annotation, res.recording || null, embeddedPeaks || res.peaks || null);
    if (this.mode === 'review') this.review?.showTranscriptQA(res.transcript_qa);
  }

  // --- one item --------------------------------------------------------------------------------

  async openItem(annotation, recording, embeddedPeaks = null) {
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
    // The peaks' length follows the waveform's width; reading it lays the page out, so only when they are asked for.
    const maxLength = () => clamp(Math.round((this.el.waveform.clientWidth || 1000) * 4), 2000, 16000);
    // Everything the first paint needs, in parallel (usually embedded in the page: no request at all).
    // Suggestions, word timings and tiles are asked for once the item is drawn and playable (_loadExtras).
    const [schema, rec, peaks] = await Promise.all([
      this.labelsPromise,
      recording && recording.duration ? recording : this.api.recording(rid),
      embeddedPeaks ||
        this.api.peaks(rid, maxLength()).catch((err) => {
          if (err.status === 404) return null;
          throw err;
        }),
    ]);
    this.schema = schema;
    // The header's text (_showItemHeader) is set after the waveform is drawn (one layout of the page before the
    // first paint, not two), or at once when there is nothing to draw yet.
    this.readOnly = this.mode === 'annotate' && ['submitted', 'accepted'].includes(annotation.status);
    if (annotation.status === 'rejected' && annotation.review_comment) {
      // Above the waveform: shown before it is drawn, so the waveform does not move when it appears.
      this.el.rejection.hidden = false;
      this.el.rejection.textContent = `Returned by the reviewer: ${annotation.review_comment}`;
    }
    if (!peaks) {
      this._showItemHeader(annotation, rec);
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
    this._showItemHeader(annotation, rec);
    // The waveform is on screen. The rest of the item's set-up runs in a few tasks, not one long one, so the
    // audio element's steps toward canplay (main-thread tasks too) are not held behind it.
    // The second bundle was requested as the waveform was drawn (Waveform.init); usually here already.
    const later = await loadLater();
    this.later = later;
    await nextTask();
    if (this.item !== item) return;

    this.labels = new Map((schema.region_labels || []).map((l) => [l.id, l]));
    item.regionsView = new later.RegionsView({ waveform, store: this.store, labels: this.labels });
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
    item.suggestions = new later.SuggestionsLayer({
      waveform,
      store: this.store,
      dismissedKey: `earmark:dismissed:${annotation.id}`,
      onAccept: (id, label) => this.acceptSuggestion(id, label),
      onSelect: (id) => this.selectSuggestion(id),
    });
    item.words = new later.WordsLayer({ waveform, onPlay: (w) => waveform.play(w.start, w.end) });
    this.panel = new later.SidePanel({ root: this.root, store: this.store, schema, channelCount, actions: this._panelActions() });
    await nextTask();
    if (this.item !== item) return;

    if (channelCount > 1) {
      item.mixer = new later.ChannelMixer({ media: waveform.media, count: channelCount, bar: this.el.channels });
      this.el.channels.hidden = false;
    }

    if (this.mode === 'annotate' && !this.readOnly) {
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
    if (this.readOnly) {
      for (const b of [this.el.submit, this.el.skip]) if (b) b.disabled = true;
      this.el.saveState.textContent = 'Read-only';
      this.notice(`You submitted this item (${annotation.status}); it reopens for editing only if a reviewer returns it.`, 'info', 0);
    }

    // Interactive: the waveform is drawn from peaks and takes input. The audio has been streaming since the
    // waveform was created (Waveform.init attaches it at once).
    this.el.placeholder.hidden = true;
    this.el.workspace.dataset.ready = 'true';
    window.dispatchEvent(new CustomEvent('earmark:annotator-ready', { detail: { annotationId: annotation.id } }));

    waveform.whenPlayable(EXTRAS_WAIT_MS).then(() => {
      if (this.item === item) this._loadExtras(item, schema, rec);
    });
  }

  /** The item's title, links and status badge, in the header. */
  _showItemHeader(annotation, rec) {
    this.el.title.textContent = rec.original_name || `Recording ${rec.id}`;
    this.el.recordingLink.href = `/recordings/${rec.id}/`;
    this.el.recordingLink.hidden = false;
    const who = this.mode === 'review' ? this.annotatorName || this.config.annotator_name : null;
    this.el.annotatorName.hidden = !who;
    this.el.annotatorName.textContent = who ? `· annotated by ${who}` : '';
    // Submitted work opened with "Previous" is shown read-only: only a reviewer's rejection reopens it.
    if (this.el.next) this.el.next.hidden = !this.readOnly;
    document.title = `${rec.original_name || 'Recording'} · ${this.mode === 'review' ? 'Review' : 'Annotate'} · Earmark`;
    this.el.badge.hidden = !annotation.status;
    this.el.badge.textContent = (annotation.status || '').replace('_', ' ');
    this.el.badge.dataset.status = annotation.status || '';
  }

  /** What the first paint and playback do not need: suggestions (voiced segments, speech, project model,
   *  draft transcripts), aligned words, spectrogram tiles and the queue-order line. Asked for once the item
   *  is drawn and its audio can play, so these requests (each a consent check and an audit write on the
   *  server) do not compete with the audio's (benchmarks/annotator_load.py). */
  _loadExtras(item, schema, rec) {
    const rid = rec.id;
    const { fetchModelSuggestions, fetchDraftSegments, fetchWords, showQueueOrder, modelSegments, speechSegments } =
      this.later;
    const voicedPromise = this.api.voicedSegments(rid).catch(() => null);
    const speechPromise = this.api.voiceActivity(rid).catch(() => null);
    const modelPromise = fetchModelSuggestions(this.api, rid);
    const draftsPromise = schema.transcript === false ? null : fetchDraftSegments(this.api, rid);
    const wordsPromise = fetchWords(this.api, item.annotation.id);
    const tilesPromise = this.api.tileIndex(rid).catch(() => null);
    if (this.mode === 'annotate') showQueueOrder(this.api, this.config.project_id, this.root.querySelector('.ann-heading'));
    if (this._progressPending) {
      this._progressPending = false;
      this.api
        .queueProgress(this.config.project_id)
        .then((progress) => {
          if (this.item === item) this._showProgress(progress);
        })
        .catch(() => {}); // the counts are informative only
    }
    Promise.all([voicedPromise, modelPromise, speechPromise, draftsPromise]).then(([v, m, va, d]) => {
      if (this.item !== item) return;
      item.voiced = (v && v.segments) || [];
      // Draft transcripts, else a ready project model's labelled regions, take the place of bare voice activity;
      // where the speech detector heard speech, its regions take the place of the energy detector's.
      item.suggestions.setSegments(d || modelSegments(m) || speechSegments(va) || item.voiced);
      this._renderPanel();
    });
    wordsPromise.then((aligned) => {
      if (this.item === item) item.words.setAligned(aligned, this.store.regions);
    });
    tilesPromise.then((index) => {
      if (this.item !== item || !index || !(index.levels || []).length) return;
      item.spectrogram = new this.later.Spectrogram({
        strip: this.el.spectrogram,
        api: this.api,
        recordingId: rid,
        index,
        waveform: item.waveform,
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
    item.words?.destroy();
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
}

// The page's methods live in page-*.js by concern; mixInto copies them onto the class and refuses a name
// defined twice (on the class or in two parts), which would otherwise silently replace the other one.
mixInto(AnnotatorPage, [PageWiring, PagePlayback, PageEditing, PageWorkflow]);

function boot() {
  const root = document.getElementById('annotator');
  const configEl = document.getElementById('annotator-config');
  if (!root || !configEl) return false;
  const config = JSON.parse(configEl.textContent);
  const page = new AnnotatorPage(root, config);
  window.earmarkAnnotator = page; // handy in the console and for browser tests
  page.start();
  return true;
}

/** Resolves once the document is parsed: the annotate pages stream their first item after the markup. */
function documentParsed() {
  if (document.readyState !== 'loading') return Promise.resolve();
  return new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
}

// The template puts this (async) script after the page's markup and config, so both are parsed when it runs;
// anywhere else, it waits for the whole document.
if (!boot()) documentParsed().then(boot);
