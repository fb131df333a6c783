// Wiring the page: controls, store and waveform events, the action table, help and notices.
// Methods of the annotator page (mixed into AnnotatorPage in main.js; `this` is the page).

export class PageWiring {
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
    el.previous?.addEventListener('click', () => this.previous());
    el.next?.addEventListener('click', () => this.backToQueue());
    el.loadTheirs.addEventListener('click', () => this.item?.autosave?.loadTheirs());
    el.overwriteMine.addEventListener('click', () => this.item?.autosave?.overwriteMine());
  }

  _bindStore() {
    this.store.on('change', ({ source }) => {
      if (!this.item || !this.item.regionsView) return;
      this.item.regionsView.sync();
      this.item.suggestions.refresh();
      this.item.words?.refresh(this.store.regions);
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
        item.words?.render();
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
