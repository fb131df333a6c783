// The annotator's only door to the server: docs/annotator-api.md, nothing else.

export class ApiError extends Error {
  /** status 0 means the request never got an answer (offline, DNS, connection reset). */
  constructor(status, detail, body = null) {
    super(detail || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }

  /** Worth retrying later: no answer at all, or the server failed. */
  get transient() {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

export class Api {
  constructor({ apiBase = '/api/v1', csrfToken = '' } = {}) {
    this.base = apiBase.replace(/\/+$/, '');
    this.csrfToken = csrfToken;
  }

  url(path) {
    return `${this.base}/${path.replace(/^\/+/, '')}`;
  }

  /** Returns parsed JSON, or null for 204 / empty bodies. Throws ApiError otherwise. */
  async request(method, path, { body, signal, keepalive } = {}) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') {
      headers['X-CSRFToken'] = this.csrfToken;
      headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        keepalive,
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'The server could not be reached.');
    }
    if (response.status === 204) return null;
    const text = await response.text().catch(() => '');
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const detail = (data && (data.detail || firstFieldError(data))) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, String(detail), data);
    }
    return data;
  }

  get(path, opts) {
    return this.request('GET', path, opts);
  }

  post(path, body = {}, opts = {}) {
    return this.request('POST', path, { ...opts, body });
  }

  put(path, body, opts = {}) {
    return this.request('PUT', path, { ...opts, body });
  }

  // --- endpoints -----------------------------------------------------------

  queueNext(projectId) {
    // Without the counts: the page asks queue/progress/ for them once the item is drawn and playable.
    return this.post(`projects/${projectId}/queue/next/?progress=false`);
  }

  queueProgress(projectId) {
    return this.get(`projects/${projectId}/queue/progress/`);
  }

  reviewNext(projectId, order = null) {
    // order=transcript_flags: the most transcript-QA flags first (the review page passes its ?order=)
    return this.post(`projects/${projectId}/review/next/${order ? `?order=${encodeURIComponent(order)}` : ''}`);
  }

  labels(projectId) {
    return this.get(`projects/${projectId}/labels/`);
  }

  annotation(id) {
    return this.get(`annotations/${id}/`);
  }

  saveAnnotation(id, { version, regions, clip_labels }) {
    return this.put(`annotations/${id}/`, { version, regions, clip_labels });
  }

  submit(id, version) {
    return this.post(`annotations/${id}/submit/`, { version });
  }

  skip(id) {
    return this.post(`annotations/${id}/skip/`, {});
  }

  review(id, { decision, comment, regions, clip_labels }) {
    return this.post(`annotations/${id}/review/`, { decision, comment, regions, clip_labels });
  }

  recording(id) {
    return this.get(`recordings/${id}/`);
  }

  peaks(recordingId, maxLength) {
    return this.get(`recordings/${recordingId}/peaks?max_length=${Math.round(maxLength)}`);
  }

  voicedSegments(recordingId) {
    return this.get(`recordings/${recordingId}/features/voiced_segments`);
  }

  voiceActivity(recordingId) {
    return this.get(`recordings/${recordingId}/features/voice_activity`);
  }

  tileIndex(recordingId) {
    return this.get(`recordings/${recordingId}/spectrogram/tiles/`);
  }

  tileUrl(recordingId, level, index) {
    return this.url(`recordings/${recordingId}/spectrogram/tiles/${level}/${index}.png`);
  }

  audioUrl(recordingId) {
    return new URL(this.url(`recordings/${recordingId}/audio`), window.location.href).href;
  }
}

function firstFieldError(data) {
  if (!data || typeof data !== 'object') return null;
  for (const [field, value] of Object.entries(data)) {
    const msg = Array.isArray(value) ? value[0] : value;
    if (typeof msg === 'string') return `${field}: ${msg}`;
  }
  return null;
}
