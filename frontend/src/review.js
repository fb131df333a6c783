// Review mode: accept / reject (with a comment) / correct, posted to annotations/{id}/review/.
// The reviewer edits regions in the same waveform; "correct" sends the edited regions as the
// corrected version. Nothing is autosaved in review mode: the decision carries the regions.

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
    for (const [decision, button] of Object.entries(this.buttons)) {
      button.addEventListener('click', () => this.decide(decision, onDecision));
    }
  }

  show(visible) {
    this.panel.hidden = !visible;
  }

  reset() {
    this.comment.value = '';
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
