// Review mode: accept / reject (with a comment) / correct, posted to annotations/{id}/review/.
// The reviewer edits regions in the same waveform; "correct" sends the edited regions as the
// corrected version. Nothing is autosaved in review mode: the decision carries the regions.
// The item's transcript-QA flags (issue 18) are listed above the buttons.

import { h } from './dom.js';

export class ReviewPanel {
  constructor({ panel, onDecision }) {
    this.panel = panel;
    this.comment = panel.querySelector('[data-testid="review-comment"]');
    this.buttons = {
      accept: panel.querySelector('[data-testid="review-accept"]'),
      reject: panel.querySelector('[data-testid="review-reject"]'),
      correct: panel.querySelector('[data-testid="review-correct"]'),
    };
    this.hint = panel.querySelector('[data-role="review-hint"]');
    this.busy = false;
    this.flags = h('p', { class: 'ann-muted', 'data-testid': 'transcript-flags', hidden: true });
    panel.prepend(this.flags);
    for (const [decision, button] of Object.entries(this.buttons)) {
      button.addEventListener('click', () => this.decide(decision, onDecision));
    }
  }

  show(visible) {
    this.panel.hidden = !visible;
  }

  /** The transcript QA of the item under review ({flags, measures}) or null. */
  showTranscriptQA(qa) {
    const flags = (qa && qa.flags) || [];
    this.flags.hidden = !qa;
    this.flags.textContent = !qa
      ? ''
      : flags.length
        ? `Transcript QA: ${flags.map((f) => f.replace('transcript_', '').replaceAll('_', ' ')).join(', ')}`
        : 'Transcript QA: no flags';
  }

  reset() {
    this.comment.value = '';
    this.showTranscriptQA(null);
    this.hint.textContent = '';
    this.setBusy(false);
  }

  setBusy(busy) {
    this.busy = busy;
    Object.values(this.buttons).forEach((b) => (b.disabled = busy));
  }

  async decide(decision, onDecision) {
    if (this.busy) return;
    const comment = this.comment.value.trim();
    if (decision === 'reject' && !comment) {
      this.hint.textContent = 'Say what needs fixing before rejecting: the annotator sees this comment.';
      this.comment.focus();
      return;
    }
    this.hint.textContent = '';
    this.setBusy(true);
    try {
      await onDecision(decision, comment);
    } catch (err) {
      this.hint.textContent = err.detail || err.message || 'The decision was not saved.';
      this.setBusy(false);
    }
  }
}
