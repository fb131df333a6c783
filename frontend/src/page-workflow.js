// The save state, conflicts, submit, skip and review decisions.
// Methods of the annotator page (mixed into AnnotatorPage in main.js; `this` is the page).

import { SAVE_TEXT, removeDrafts } from './autosave.js';

export class PageWorkflow {
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

  _showProgress(progress) {
    const el = this.el.progress;
    if (!el) return;
    el.hidden = !progress;
    if (progress) el.textContent = `· ${progress.left} of ${progress.total} left`;
  }

  async previous() {
    if (this.mode !== 'annotate' || this.busy) return;
    const current = this.item && this.item.annotation.id;
    try {
      if (this.item && this.item.autosave) await this.item.autosave.flush();
      const page = await this.api.get(`annotations/?project=${this.config.project_id}&status=submitted,accepted&page_size=5`);
      const mine = (page.results || []).filter((a) => a.annotator === this.config.user_id && a.id !== current);
      if (!mine.length) {
        this.notice('Nothing before this one: you have not submitted anything in this project yet.', 'info');
        return;
      }
      await this.openItem(mine[0], null);
    } catch (err) {
      this.notice(`Could not open the previous item: ${err.detail || err.message}`, 'error', 0);
    }
  }

  async backToQueue() {
    this.el.notice.hidden = true;
    await this.openNext();
  }

  async skip() {
    const item = this.item;
    if (this.mode !== 'annotate' || this.busy || !item) return;
    const drawn = this.store.doc.regions.length;
    if (drawn && !window.confirm(`Skip this recording? Its ${drawn} region${drawn === 1 ? '' : 's'} will be thrown away.`)) {
      return;
    }
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
    const name = item.recording.original_name || `recording ${item.recording.id}`;
    await this.api.review(item.annotation.id, { decision, comment, regions: doc.regions, clip_labels: doc.clip_labels });
    const done = { accept: 'Accepted', reject: 'Rejected', correct: 'Accepted with your corrections' }[decision] || `Recorded “${decision}” for`;
    await this.openNext();
    // The confirmation stays until the next action, also when the queue is now empty.
    this.notice(`${done}: ${name}.${this.item ? ' Here is the next one.' : ''}`, 'info', 0);
  }

}
