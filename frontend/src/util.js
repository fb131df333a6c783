// Small helpers shared by the annotator modules. No DOM state lives here.

/** Round seconds to whole milliseconds, the precision the API stores. */
export function roundMs(seconds) {
  return Math.round(seconds * 1000) / 1000;
}

export function clamp(value, lo, hi) {
  return Math.min(hi, Math.max(lo, value));
}

/** 75.25 → "1:15.250"; 3725 → "1:02:05.000". */
export function formatTime(seconds, { ms = true } = {}) {
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = ms ? s.toFixed(3).padStart(6, '0') : String(Math.floor(s)).padStart(2, '0');
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${sign}${h ? `${h}:` : ''}${mm}:${sec}`;
}

/** A v4 UUID; crypto.randomUUID needs a secure context, so fall back to getRandomValues. */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') {
    try {
      return crypto.randomUUID();
    } catch {
      /* not a secure context: fall through */
    }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** "#e6194b" or "#abc" or any CSS colour → an rgba() string with the given alpha. */
export function withAlpha(color, alpha) {
  if (!color) return `rgba(100, 116, 139, ${alpha})`;
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  let hex = m[1];
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join('');
  const n = parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function debounce(fn, wait) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, wait);
  };
  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  debounced.pending = () => timer !== null;
  return debounced;
}

/** Stable JSON for comparing two documents regardless of key order. */
export function stableStringify(value) {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

/** True when the event target is somewhere the user types (so single-key shortcuts stay off). */
export function isTypingTarget(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target.getAttribute('type') || 'text').toLowerCase();
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(type);
}

/**
 * Copy the methods (getters included) of each of ``parts``' prototypes onto ``target``'s prototype. A name that
 * ``target`` or an earlier part already defines throws: a silent overwrite would lose one of the two methods.
 */
export function mixInto(target, parts) {
  const owner = new Map(Object.getOwnPropertyNames(target.prototype).map((name) => [name, target.name]));
  for (const part of parts) {
    const { constructor, ...methods } = Object.getOwnPropertyDescriptors(part.prototype); // eslint-disable-line no-unused-vars
    for (const name of Object.keys(methods)) {
      if (owner.has(name)) throw new Error(`${part.name}.${name} would overwrite ${owner.get(name)}.${name}`);
      owner.set(name, part.name);
    }
    Object.defineProperties(target.prototype, methods);
  }
  return target;
}

/** Resolves in a later task (behind what the browser has queued): a long start-up split with these lets the
 *  audio element's own steps toward `canplay`, each a task on the main thread, run in between. */
export function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
