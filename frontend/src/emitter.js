// Minimal event emitter for the annotator's own modules.

export class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event)?.delete(fn);
  }

  emit(event, ...args) {
    for (const fn of [...(this._listeners.get(event) || [])]) fn(...args);
  }
}
