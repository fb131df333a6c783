// Pre-labelling: the project model's suggested regions (label + confidence), offered through the same
// suggestions layer as voice detection. Accepting one keeps its provenance (model id and version, the
// label, confidence and times as suggested) in the region's `source`, which the server stores in the
// annotation's history. Also shows, on the queue page, which order the queue follows.

import { h } from './dom.js';
import { draftCaption } from './transcripts.js';

/** GET recordings/{rid}/suggestions → {model: {id, version, backend}|null, regions: [...]}; null on error. */
export async function fetchModelSuggestions(api, recordingId) {
  try {
    return await api.get(`recordings/${recordingId}/suggestions`);
  } catch {
    return null;
  }
}

/** Suggestions-layer segments for a model's regions (each remembers where it came from). */
export function modelSegments(body) {
  if (!body || !body.model || !(body.regions || []).length) return null;
  const { id, version } = body.model;
  return body.regions.map((r) => ({
    start: r.start,
    end: r.end,
    label: r.label,
    labelName: r.label_name,
    confidence: r.confidence,
    source: { model: id, version, label: r.label, confidence: r.confidence, start: r.start, end: r.end },
  }));
}

/** Suggestions-layer segments for Silero VAD's speech regions (voice_activity), or null when it heard no
 *  speech: then the energy detector's voiced segments serve (they find any sound, not only voices). On speech
 *  the speech detector is the better one (benchmarks/vad.py: F1 1.000 against 0.681 at 10 dB SNR). */
export function speechSegments(body) {
  if (!body || !(body.regions || []).length) return null;
  return body.regions.map((r) => ({ start: r.start, end: r.end, probability: r.probability, detector: 'speech' }));
}

/** Where the suggestions on offer come from, for the panel's summary. */
export function suggestionOrigin(suggestions) {
  if ((suggestions || []).some((s) => s.draftText !== undefined)) return 'draft transcripts';
  const first = (suggestions || []).find((s) => s.source);
  if (first) return `from model v${first.source.version}`;
  return (suggestions || []).some((s) => s.detector === 'speech') ? 'from speech detection' : 'from voice detection';
}

/** The chip text of a model suggestion: its label and confidence. */
export function suggestionCaption(s) {
  if (s.draftText !== undefined) return draftCaption(s);
  if (!s.source) return null;
  return `${s.labelName ?? 'label'} ${Math.round((s.confidence || 0) * 100)}%`;
}

/** A region list badge for a region accepted from a model (reviewers see it too). */
export function sourceBadge(region) {
  if (!region || !region.source) return null;
  const s = region.source;
  const unchanged = s.label === region.label && Math.abs(s.start - region.start) < 0.0005 && Math.abs(s.end - region.end) < 0.0005;
  return h(
    'span',
    { class: 'ann-region-meta', 'data-testid': 'region-source', title: `Accepted from model ${s.model} v${s.version} (${Math.round(s.confidence * 100)}% confident)${unchanged ? '' : ', then edited'}` },
    `model v${s.version}${unchanged ? '' : ' · edited'}`,
  );
}

/** The queue order line under the page title (annotate mode). */
export async function showQueueOrder(api, projectId, header) {
  if (!header || header.querySelector('[data-testid="queue-order"]')) return;
  try {
    const info = await api.get(`projects/${projectId}/learning/`);
    header.appendChild(h('p', { class: 'ann-muted', 'data-testid': 'queue-order' }, `Queue: ${info.text}`));
  } catch {
    /* the line is informative only */
  }
}
