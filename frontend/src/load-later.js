// The second bundle (later.js), imported once and shared. Its URL is resolved against this bundle's own, so both
// are served from the same static folder; a dynamic import of a computed URL is left alone by esbuild.
let later = null;

/** The later bundle's exports (a promise; the request starts on the first call). */
export function loadLater() {
  later ||= import(new URL('./annotator-later.js', import.meta.url).href);
  return later;
}
