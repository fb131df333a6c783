// Transcripts (issue 18): the recogniser's draft transcripts as suggestions, and the word view.
//
// Drafts (GET recordings/{rid}/drafts/) join the suggestions layer: accepting one adds a region whose text is
// the draft and whose attributes keep the draft (`draft_text`, `draft_engine`), so after the annotator edits the
// text the annotation's history holds both. Word timings (GET annotations/{id}/words/, from forced alignment)
// are drawn as boxes along the bottom of the waveform (a SpanLayer, like the suggestions); clicking a word plays
// it. A region whose text was edited since it was aligned shows no words until it is aligned again.

import { h } from './dom.js';
import { SpanLayer } from './span-layer.js';
import { formatTime } from './util.js';

/** GET recordings/{rid}/drafts/ → suggestions-layer segments carrying the draft's text; null when none. */
export async function fetchDraftSegments(api, recordingId) {
  let body;
  try {
    body = await api.get(`recordings/${recordingId}/drafts/`);
  } catch {
    return null;
  }
  const drafts = (body && body.drafts) || [];
  if (!drafts.length) return null;
  return drafts.map((d) => ({
    start: d.start,
    end: d.end,
    draftText: d.text,
    text: d.text,
    attributes: { draft_engine: `${d.provenance.engine} ${d.provenance.version}`, draft_text: d.text },
  }));
}

/** The region fields an accepted draft brings: its text, and the draft kept in the attributes. */
export function draftFields(s) {
  return s.draftText === undefined ? {} : { text: s.text, attributes: { ...s.attributes } };
}

/** The chip text of a draft suggestion (the suggestions layer shows it beside ✓ and ✕). */
export function draftCaption(s) {
  if (s.draftText === undefined) return null;
  const text = s.draftText.length > 40 ? `${s.draftText.slice(0, 39)}…` : s.draftText;
  return `draft: ${text}`;
}

/** GET annotations/{id}/words/ → the aligned regions ({id, start, end, text, words}); [] on error. */
export async function fetchWords(api, annotationId) {
  try {
    const body = await api.get(`annotations/${annotationId}/words/`);
    return (body.regions || []).filter((r) => r.status === 'aligned');
  } catch {
    return [];
  }
}

export class WordsLayer {
  constructor({ waveform, onPlay }) {
    this.waveform = waveform;
    this.onPlay = onPlay;
    this.aligned = [];
    this.words = [];
    this.spans = new SpanLayer({
      waveform,
      attrs: {
        part: 'earmark-words',
        'data-testid': 'words-layer',
        style: { position: 'absolute', left: '0', right: '0', bottom: '0', height: '18px', zIndex: '5', pointerEvents: 'none' },
      },
      create: (w) => this._element(w),
    });
  }

  /** The aligned regions from the server; ``regions`` (the store's) decide which still hold the aligned text. */
  setAligned(aligned, regions) {
    this.aligned = aligned || [];
    this.refresh(regions);
  }

  refresh(regions) {
    const current = new Map((regions || []).map((r) => [r.id, r]));
    this.words = [];
    for (const a of this.aligned) {
      const r = current.get(a.id);
      if (!r || (r.text || '').trim() !== a.text.trim()) continue; // edited since it was aligned
      a.words.forEach((w, i) => this.words.push({ ...w, id: `${a.id}:${i}` }));
    }
    this.spans.clear();
    this.render();
  }

  render() {
    this.spans.draw(this.words);
  }

  _element(w) {
    const title = `${w.word} ${formatTime(w.start)}–${formatTime(w.end)} (click to play)`;
    return h(
      'button',
      {
        type: 'button',
        title,
        'aria-label': `Play “${w.word}”`,
        'data-testid': 'word',
        'data-word': w.word,
        'data-start': String(w.start),
        'data-end': String(w.end),
        tabindex: '-1',
        style: {
          position: 'absolute',
          top: '0',
          height: '100%',
          boxSizing: 'border-box',
          minWidth: '2px',
          overflow: 'hidden',
          whiteSpace: 'nowrap',
          textOverflow: 'ellipsis',
          font: '600 11px/16px system-ui, sans-serif',
          color: '#14532d',
          background: 'rgba(220, 252, 231, 0.9)',
          border: '0',
          borderLeft: '1px solid #15803d',
          borderRight: '1px solid #15803d',
          padding: '0 2px',
          margin: '0',
          cursor: 'pointer',
          pointerEvents: 'auto',
        },
        onpointerdown: (e) => e.stopPropagation(),
        onclick: (e) => {
          e.stopPropagation();
          this.onPlay(w);
        },
      },
      w.word,
    );
  }

  destroy() {
    this.spans.destroy();
  }
}
