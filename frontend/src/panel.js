// The side panel: label buttons, the selected region's editor (times, channel, transcript,
// attributes, frequency range), clip-level labels and the region list. Built once per item;
// update() refreshes values without rebuilding, so typing never loses focus.

import { sourceBadge, suggestionOrigin } from './model-suggestions.js';
import { h } from './dom.js';
import { labelHotkey } from './hotkeys.js';
import { formatTime, withAlpha } from './util.js';

export class SidePanel {
  constructor({ root, store, schema, channelCount, actions }) {
    this.root = root;
    this.store = store;
    this.schema = schema; // labels endpoint payload
    this.channelCount = channelCount;
    this.actions = actions;
    this.armedLabel = null; // label given to the next drawn region when nothing is selected
    this.labelsEl = root.querySelector('[data-role="region-labels"]');
    this.editorEl = root.querySelector('[data-role="region-editor"]');
    this.clipSection = root.querySelector('[data-role="clip-section"]');
    this.clipEl = root.querySelector('[data-role="clip-labels"]');
    this.listEl = root.querySelector('[data-testid="region-list"]');
    this.countEl = root.querySelector('[data-role="region-count"]');
    this.suggestEl = root.querySelector('[data-role="suggestion-summary"]');
    this._buildLabels();
    this._buildEditor();
    this._buildClipLabels();
  }

  /** Label hotkeys: the label's own `hotkey`, else its position (1–9). */
  static hotkeyOf(label, index) {
    return labelHotkey(label, index);
  }

  _buildLabels() {
    const labels = this.schema.region_labels || [];
    this.labelButtons = labels.map((label, i) => {
      const hotkey = SidePanel.hotkeyOf(label, i);
      return h(
        'button',
        {
          type: 'button',
          class: 'ann-label',
          'data-testid': `label-button-${label.id}`,
          'data-label-id': label.id,
          'aria-pressed': 'false',
          title: hotkey ? `${label.name} (key ${hotkey})` : label.name,
          style: { '--label-color': label.color || '#64748b', '--label-tint': withAlpha(label.color, 0.16) },
          onclick: () => this.actions.chooseLabel(label.id),
        },
        h('span', { class: 'ann-label-swatch', 'aria-hidden': 'true' }),
        h('span', { class: 'ann-label-name' }, label.name),
        hotkey ? h('kbd', {}, hotkey) : null,
      );
    });
    this.labelsEl.replaceChildren(
      ...(this.labelButtons.length ? this.labelButtons : [h('p', { class: 'ann-muted' }, 'This project has no region labels.')]),
    );
  }

  _buildEditor() {
    const field = (label, control, extra = {}) => h('label', { class: `ann-field ${extra.class || ''}` }, h('span', { class: 'ann-field-label' }, label), control);
    this.heading = h('h2', { id: 'ann-region-heading' }, 'Selected region');
    this.hint = h('p', { class: 'ann-muted', 'data-role': 'editor-hint' });
    this.startInput = h('input', { type: 'number', step: '0.001', min: '0', inputmode: 'decimal', 'data-testid': 'region-start' });
    this.endInput = h('input', { type: 'number', step: '0.001', min: '0', inputmode: 'decimal', 'data-testid': 'region-end' });
    this.startInput.addEventListener('change', () => this._setTime('start', this.startInput.value));
    this.endInput.addEventListener('change', () => this._setTime('end', this.endInput.value));

    this.channelSelect = h(
      'select',
      { 'data-testid': 'region-channel' },
      h('option', { value: '' }, 'All channels'),
      Array.from({ length: this.channelCount }, (_, i) => h('option', { value: String(i) }, `Channel ${i + 1}`)),
    );
    this.channelSelect.addEventListener('change', () =>
      this._update({ channel: this.channelSelect.value === '' ? null : Number(this.channelSelect.value) }),
    );

    this.transcript = h('textarea', {
      rows: '3',
      'data-testid': 'transcript-input',
      placeholder: 'Transcript',
      spellcheck: 'true',
    });
    this.transcript.addEventListener('input', () => this._update({ text: this.transcript.value }, `text:${this.store.selectedId}`));

    this.attrControls = (this.schema.region_fields || []).map((f) => this._attrControl(f));

    this.fminInput = h('input', { type: 'number', step: '1', min: '0', 'data-testid': 'region-fmin', placeholder: 'Hz' });
    this.fmaxInput = h('input', { type: 'number', step: '1', min: '0', 'data-testid': 'region-fmax', placeholder: 'Hz' });
    const setFreq = () =>
      this._update({
        fmin: this.fminInput.value === '' ? null : Number(this.fminInput.value),
        fmax: this.fmaxInput.value === '' ? null : Number(this.fmaxInput.value),
      });
    this.fminInput.addEventListener('change', setFreq);
    this.fmaxInput.addEventListener('change', setFreq);
    this.clearFreq = h('button', { type: 'button', class: 'btn btn-small', onclick: () => this._update({ fmin: null, fmax: null }) }, 'Clear');

    this.playBtn = h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'region-play', onclick: () => this.actions.playRegion() }, 'Play ', h('kbd', {}, 'R'));
    this.deleteBtn = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'region-delete', onclick: () => this.actions.deleteSelected() }, 'Delete');

    this.fields = h(
      'div',
      { class: 'ann-editor-fields' },
      h('div', { class: 'ann-row' }, field('Start (s)', this.startInput), field('End (s)', this.endInput)),
      this.channelCount > 1 ? field('Channel', this.channelSelect) : null,
      this.schema.transcript === false ? null : field('Transcript', this.transcript, { class: 'ann-field-wide' }),
      this.attrControls.map((c) => c.wrap),
      h(
        'fieldset',
        { class: 'ann-freq' },
        h('legend', {}, 'Frequency range'),
        h('div', { class: 'ann-row' }, field('Low (Hz)', this.fminInput), field('High (Hz)', this.fmaxInput), this.clearFreq),
      ),
      h('div', { class: 'ann-row ann-editor-actions' }, this.playBtn, this.deleteBtn),
    );
    this.editorEl.replaceChildren(this.heading, this.hint, this.fields);
  }

  _attrControl(f) {
    const testid = `region-field-${f.name}`;
    let input;
    if (f.type === 'choice') {
      input = h('select', { 'data-testid': testid }, h('option', { value: '' }, '—'), (f.choices || []).map((c) => h('option', { value: String(c) }, String(c))));
      input.addEventListener('change', () => this._setAttr(f.name, input.value === '' ? null : input.value));
    } else if (f.type === 'checkbox') {
      input = h('input', { type: 'checkbox', 'data-testid': testid });
      input.addEventListener('change', () => this._setAttr(f.name, input.checked));
    } else {
      input = h('input', { type: 'text', 'data-testid': testid });
      input.addEventListener('input', () => this._setAttr(f.name, input.value, `attr:${f.name}:${this.store.selectedId}`));
    }
    const wrap =
      f.type === 'checkbox'
        ? h('label', { class: 'ann-field ann-check' }, input, h('span', {}, f.name))
        : h('label', { class: 'ann-field' }, h('span', { class: 'ann-field-label' }, f.name), input);
    return { field: f, input, wrap };
  }

  _buildClipLabels() {
    const labels = this.schema.clip_labels || [];
    this.clipSection.hidden = labels.length === 0;
    const hint = this.schema.clip_multi ? 'Pick any that apply.' : 'Pick one.';
    this.clipButtons = labels.map((label, i) => {
      const hotkey = SidePanel.hotkeyOf(label, i);
      return h(
        'button',
        {
          type: 'button',
          class: 'ann-label',
          'data-testid': `clip-label-${label.id}`,
          'aria-pressed': 'false',
          title: hotkey ? `${label.name} (Shift+${hotkey})` : label.name,
          style: { '--label-color': label.color || '#64748b', '--label-tint': withAlpha(label.color, 0.16) },
          onclick: () => this.actions.toggleClipLabel(label.id),
        },
        h('span', { class: 'ann-label-swatch', 'aria-hidden': 'true' }),
        h('span', { class: 'ann-label-name' }, label.name),
        hotkey ? h('kbd', {}, `⇧${hotkey}`) : null,
      );
    });
    this.clipEl.replaceChildren(h('p', { class: 'ann-muted' }, hint), h('div', { class: 'ann-labels' }, this.clipButtons));
  }

  _update(fields, coalesce = null) {
    const id = this.store.selectedId;
    if (!id) return;
    this.store.updateRegion(id, fields, { coalesce, source: 'panel' });
  }

  _setAttr(name, value, coalesce = null) {
    const r = this.store.selected;
    if (!r) return;
    this._update({ attributes: { ...r.attributes, [name]: value } }, coalesce);
  }

  _setTime(side, raw) {
    const r = this.store.selected;
    const v = Number(raw);
    if (!r || raw === '' || Number.isNaN(v)) return this.update();
    if (side === 'start' && v >= r.end) return this.update();
    if (side === 'end' && v <= r.start) return this.update();
    this._update({ [side]: v });
  }

  /** Live times while a region is dragged on the waveform. */
  showLive(id, start, end) {
    if (id !== this.store.selectedId) return;
    if (document.activeElement !== this.startInput) this.startInput.value = start.toFixed(3);
    if (document.activeElement !== this.endInput) this.endInput.value = end.toFixed(3);
  }

  update({ suggestions = [], selectedSuggestion = null, dismissedCount = 0 } = {}) {
    const r = this.store.selected;
    const regions = this.store.regions;
    const set = (el, value) => {
      if (document.activeElement !== el && el.value !== value) el.value = value;
    };
    // labels
    const current = r ? r.label : selectedSuggestion ? null : this.armedLabel;
    for (const b of this.labelButtons) b.setAttribute('aria-pressed', String(String(b.dataset.labelId) === String(current)));
    // editor
    const enabled = !!r;
    this.fields.hidden = !enabled;
    for (const el of this.fields.querySelectorAll('input, select, textarea, button')) el.disabled = !enabled;
    if (r) {
      const n = regions.indexOf(r) + 1;
      this.heading.textContent = `Region ${n} of ${regions.length}`;
      this.hint.textContent = `${formatTime(r.start)} – ${formatTime(r.end)} · ${(r.end - r.start).toFixed(3)} s`;
      set(this.startInput, r.start.toFixed(3));
      set(this.endInput, r.end.toFixed(3));
      set(this.channelSelect, r.channel === null ? '' : String(r.channel));
      set(this.transcript, r.text || '');
      for (const c of this.attrControls) {
        const v = r.attributes[c.field.name];
        if (c.field.type === 'checkbox') c.input.checked = !!v;
        else set(c.input, v === null || v === undefined ? '' : String(v));
      }
      set(this.fminInput, r.fmin === null ? '' : String(r.fmin));
      set(this.fmaxInput, r.fmax === null ? '' : String(r.fmax));
    } else {
      this.heading.textContent = selectedSuggestion ? 'Suggestion' : 'No region selected';
      this.hint.textContent = selectedSuggestion
        ? `${formatTime(selectedSuggestion.start)} – ${formatTime(selectedSuggestion.end)}. Enter accepts, a label key accepts with that label, Delete dismisses.`
        : 'Drag on the waveform to draw a region, press I then O at the playhead, or pick one with N / P.';
      for (const el of [this.startInput, this.endInput, this.transcript, this.fminInput, this.fmaxInput]) set(el, '');
    }
    // clip labels
    const clip = new Set(this.store.doc.clip_labels.map(String));
    for (const b of this.clipButtons) b.setAttribute('aria-pressed', String(clip.has(b.dataset.testid.replace('clip-label-', ''))));
    this._renderList(suggestions, dismissedCount);
  }

  _renderList(suggestions, dismissedCount) {
    const regions = this.store.regions;
    const labels = new Map((this.schema.region_labels || []).map((l) => [l.id, l]));
    const focusedId = document.activeElement?.closest?.('[data-testid="region-list"]') ? document.activeElement.dataset.regionId : null;
    this.countEl.textContent = `(${regions.length})`;
    const items = regions.map((r, i) => {
      const label = r.label === null ? null : labels.get(r.label);
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'ann-region-item',
            'data-region-id': r.id,
            'data-testid': 'region-item',
            'aria-current': r.id === this.store.selectedId ? 'true' : null,
            style: { '--label-color': label?.color || '#94a3b8' },
            onclick: () => this.actions.selectRegion(r.id, { play: false, reveal: true }),
          },
          h('span', { class: 'ann-region-index' }, String(i + 1)),
          h('span', { class: 'ann-region-time' }, `${formatTime(r.start)}–${formatTime(r.end)}`),
          h('span', { class: 'ann-region-label' }, label ? label.name : 'unlabelled'),
          r.channel !== null ? h('span', { class: 'ann-region-meta' }, `ch ${r.channel + 1}`) : null,
          r.fmin !== null && r.fmax !== null ? h('span', { class: 'ann-region-meta' }, `${r.fmin}–${r.fmax} Hz`) : null,
          sourceBadge(r),
          r.text ? h('span', { class: 'ann-region-text' }, r.text) : null,
        ),
      );
    });
    this.listEl.replaceChildren(...(items.length ? items : [h('li', { class: 'ann-muted ann-empty-list' }, 'No regions yet.')]));
    if (focusedId) this.listEl.querySelector(`[data-region-id="${CSS.escape(focusedId)}"]`)?.focus();
    const summary = [
      ...(suggestions.length
        ? [
            h('span', { 'data-testid': 'suggestion-count' }, `${suggestions.length} suggestion${suggestions.length === 1 ? '' : 's'} ${suggestionOrigin(suggestions)}`),
            h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'accept-all-suggestions', onclick: () => this.actions.acceptAllSuggestions() }, 'Accept all'),
            h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'dismiss-all-suggestions', onclick: () => this.actions.dismissAllSuggestions() }, 'Dismiss all'),
          ]
        : []),
      dismissedCount
        ? h('button', { type: 'button', class: 'btn btn-small btn-link', 'data-testid': 'restore-suggestions', onclick: () => this.actions.restoreSuggestions() }, `Restore ${dismissedCount} dismissed`)
        : null,
    ];
    this.suggestEl.replaceChildren(...summary.filter(Boolean));
    this.suggestEl.hidden = !suggestions.length && !dismissedCount;
  }

  focusTranscript() {
    if (!this.store.selected || this.schema.transcript === false) return false;
    this.transcript.focus();
    this.transcript.setSelectionRange(this.transcript.value.length, this.transcript.value.length);
    return true;
  }
}
