// Snapshot-based undo/redo. Each entry is the whole document as a JSON string: documents are
// small (regions + clip labels), and whole snapshots cannot drift out of sync the way inverse
// operations can.

const COALESCE_MS = 1500;

export class History {
  constructor(limit = 200) {
    this.limit = limit;
    this.undoStack = [];
    this.redoStack = [];
    this.lastKey = null;
    this.lastAt = 0;
  }

  /**
   * Remember `snapshot` (the state *before* an edit). Edits sharing a coalesce key within a short
   * time (typing a transcript letter by letter) become one undo step.
   */
  record(snapshot, coalesceKey = null) {
    const now = Date.now();
    if (coalesceKey && coalesceKey === this.lastKey && now - this.lastAt < COALESCE_MS) {
      this.lastAt = now;
      return;
    }
    this.undoStack.push(snapshot);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
    this.lastKey = coalesceKey;
    this.lastAt = now;
  }

  undo(current) {
    if (!this.undoStack.length) return null;
    this.redoStack.push(current);
    this.lastKey = null;
    return this.undoStack.pop();
  }

  redo(current) {
    if (!this.redoStack.length) return null;
    this.undoStack.push(current);
    this.lastKey = null;
    return this.redoStack.pop();
  }

  clear() {
    this.undoStack = [];
    this.redoStack = [];
    this.lastKey = null;
  }

  get canUndo() {
    return this.undoStack.length > 0;
  }

  get canRedo() {
    return this.redoStack.length > 0;
  }
}
