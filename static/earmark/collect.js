// The contributor's page (apps/collection/templates/collection/contribute.html): consent, microphone check,
// then prompt by prompt: record, listen back, re-record, next. Audio is captured as PCM through an
// AudioWorklet and written as 16-bit WAV here (no lossy encoding); each clip is uploaded on its own with an
// idempotency key and retried until the server has it, so an interrupted upload arrives exactly once.
// A plain module, no bundler, no inline script (the CSP allows none).

const root = document.getElementById("collect");
const textNode = document.getElementById("collect-text");
const T = textNode ? JSON.parse(textNode.textContent) : {};
const $ = (id) => document.getElementById(id);

const state = {
  key: "",
  prompts: [],
  index: 0,
  purposes: [],
  optoutUrl: "",
  speakerCode: "",
  take: null, // {blob, url} of the current prompt's last recording
};
const audio = { ctx: null, node: null, stream: null, listeners: new Set() };
const uploads = { queue: [], busy: false, sent: 0, failed: [] };

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));
}

function show(step) {
  for (const section of root.querySelectorAll(".step")) {
    section.hidden = section.id !== step;
  }
  const heading = $(step).querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- consent -------------------------------------------------------------------------------------------------

async function join(event) {
  event.preventDefault();
  const form = event.target;
  const error = root.querySelector("[data-testid=consent-error]");
  const data = new FormData(form);
  const body = {
    purposes: data.getAll("purposes"),
    language: data.get("language") || "",
    age_band: data.get("age_band") || "",
    gender: data.get("gender") || "",
    accent: data.get("accent") || "",
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch(root.dataset.joinUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      error.textContent = answer.detail || T.join_failed;
      error.hidden = false;
      return;
    }
    Object.assign(state, {
      key: answer.key,
      prompts: answer.prompts,
      purposes: answer.purposes,
      optoutUrl: answer.optout_url,
      speakerCode: answer.speaker_code,
    });
    error.hidden = true;
    show("step-mic");
  } catch {
    error.textContent = T.offline;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

// --- audio: one AudioContext, one worklet; listeners get every PCM block --------------------------------------

async function audioStart() {
  if (audio.ctx) return;
  audio.stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  audio.ctx = new AudioContext();
  await audio.ctx.audioWorklet.addModule(new URL("./collect-worklet.js", import.meta.url));
  const source = audio.ctx.createMediaStreamSource(audio.stream);
  audio.node = new AudioWorkletNode(audio.ctx, "pcm-capture");
  const mute = audio.ctx.createGain();
  mute.gain.value = 0; // pulled by the graph, never heard
  source.connect(audio.node).connect(mute).connect(audio.ctx.destination);
  audio.node.port.onmessage = (event) => {
    for (const listener of audio.listeners) listener(event.data);
  };
}

function rms(block) {
  let sum = 0;
  for (let i = 0; i < block.length; i++) sum += block[i] * block[i];
  return Math.sqrt(sum / block.length);
}

function db(value) {
  return 20 * Math.log10(Math.max(value, 1e-9));
}

function meter(element, block) {
  const level = Math.max(0, Math.min(1, (db(rms(block)) + 60) / 60));
  element.style.width = `${Math.round(level * 100)}%`;
}

// --- microphone check ----------------------------------------------------------------------------------------

const CHECK_SECONDS = 3;

function verdict(levels, peaks, clipped, total) {
  const sorted = [...levels].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const speech = db(pick(0.9));
  const floor = db(pick(0.1));
  if (speech < -42) return { ok: false, text: T.too_quiet };
  if (clipped / total > 0.001) return { ok: false, text: T.clipping };
  if (floor > -50 && speech - floor < 15) return { ok: false, text: T.too_noisy };
  return { ok: true, text: format(T.mic_ok, { speech: Math.round(speech), floor: Math.round(floor) }) };
}

async function micCheck() {
  const out = $("mic-verdict");
  const start = $("mic-start");
  start.disabled = true;
  try {
    await audioStart();
  } catch {
    out.textContent = T.no_mic;
    start.disabled = false;
    return;
  }
  out.textContent = T.listening;
  const levels = [];
  let peaks = 0;
  let clipped = 0;
  let total = 0;
  const wanted = CHECK_SECONDS * audio.ctx.sampleRate;
  await new Promise((resolve) => {
    const listen = (block) => {
      meter($("mic-level"), block);
      levels.push(rms(block));
      for (let i = 0; i < block.length; i++) {
        const a = Math.abs(block[i]);
        peaks = Math.max(peaks, a);
        if (a >= 0.99) clipped++;
      }
      total += block.length;
      if (total >= wanted) {
        audio.listeners.delete(listen);
        resolve();
      }
    };
    audio.listeners.add(listen);
  });
  const result = verdict(levels, peaks, clipped, total);
  out.textContent = result.text;
  out.className = result.ok ? "ok" : "error";
  $("mic-continue").disabled = !result.ok;
  start.disabled = false;
  if (result.ok) $("mic-continue").focus();
}

// --- recording -----------------------------------------------------------------------------------------------

const recorder = { on: false, blocks: [], listen: null };

function wav(blocks, rate) {
  const frames = blocks.reduce((n, b) => n + b.length, 0);
  const buffer = new ArrayBuffer(44 + frames * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + frames * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, frames * 2, true);
  let offset = 44;
  for (const block of blocks) {
    for (let i = 0; i < block.length; i++, offset += 2) {
      const s = Math.max(-1, Math.min(1, block[i]));
      view.setInt16(offset, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buffer], { type: "audio/wav" });
}

function promptShow() {
  const prompt = state.prompts[state.index];
  state.take = null;
  $("playback").hidden = true;
  $("play").disabled = true;
  $("next").disabled = true;
  $("rec").firstChild.textContent = `${T.record} `;
  $("rec-status").textContent = "";
  if (!prompt) {
    $("prompt-count").textContent = T.all_done;
    $("prompt-text").textContent = "";
    $("rec").disabled = true;
    $("finish").focus();
    return;
  }
  $("rec").disabled = false;
  $("prompt-count").textContent = format(T.prompt_of, { n: state.index + 1, total: state.prompts.length });
  $("prompt-text").textContent = prompt.text;
}

function recordToggle() {
  if ($("rec").disabled) return;
  if (!recorder.on) {
    recorder.on = true;
    recorder.blocks = [];
    recorder.listen = (block) => {
      recorder.blocks.push(block);
      meter($("rec-level"), block);
    };
    audio.listeners.add(recorder.listen);
    $("rec").firstChild.textContent = `${T.stop} `;
    $("rec").classList.add("recording");
    $("rec-status").textContent = T.recording;
    $("play").disabled = true;
    $("next").disabled = true;
    return;
  }
  recorder.on = false;
  audio.listeners.delete(recorder.listen);
  $("rec").classList.remove("recording");
  $("rec").firstChild.textContent = `${T.rerecord} `;
  const blob = wav(recorder.blocks, audio.ctx.sampleRate);
  if (state.take) URL.revokeObjectURL(state.take.url);
  state.take = { blob, url: URL.createObjectURL(blob) };
  const player = $("playback");
  player.src = state.take.url;
  player.hidden = false;
  const seconds = recorder.blocks.reduce((n, b) => n + b.length, 0) / audio.ctx.sampleRate;
  $("rec-status").textContent = format(T.recorded, { seconds: seconds.toFixed(1) });
  $("play").disabled = false;
  $("next").disabled = false;
}

function playBack() {
  if (!$("play").disabled) $("playback").play();
}

function next() {
  if ($("next").disabled || !state.take) return;
  const prompt = state.prompts[state.index];
  uploads.queue.push({ prompt: prompt.id, key: uuid(), blob: state.take.blob, tries: 0 });
  pump();
  state.index += 1;
  promptShow();
}

// --- uploads: one clip per request, retried with the same key until the server answers -----------------------

class Permanent extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(item) {
  const body = new FormData();
  body.append("prompt", item.prompt);
  body.append("upload_key", item.key);
  body.append("audio", item.blob, `${item.prompt}.wav`);
  const response = await fetch(root.dataset.clipsUrl, {
    method: "POST",
    headers: { "X-Contributor-Key": state.key },
    body,
  });
  if (response.ok) return;
  const answer = await response.json().catch(() => ({}));
  if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status)) {
    throw new Permanent(answer.detail || T.upload_refused);
  }
  throw new Error(answer.detail || String(response.status));
}

function uploadStatus() {
  const waiting = uploads.queue.length;
  const parts = [format(T.sent, { n: uploads.sent })];
  if (waiting) parts.push(format(T.waiting, { n: waiting }));
  for (const failure of uploads.failed) parts.push(failure);
  $("upload-status").textContent = parts.join(" ");
}

async function pump() {
  if (uploads.busy) return;
  uploads.busy = true;
  while (uploads.queue.length) {
    const item = uploads.queue[0];
    uploadStatus();
    try {
      await send(item);
      uploads.queue.shift();
      uploads.sent += 1;
    } catch (error) {
      if (error instanceof Permanent) {
        uploads.queue.shift();
        uploads.failed.push(error.message);
      } else {
        item.tries += 1;
        $("upload-status").textContent = format(T.retrying, { n: uploads.queue.length });
        await sleep(Math.min(30000, 500 * 2 ** item.tries));
      }
    }
  }
  uploads.busy = false;
  uploadStatus();
  root.dispatchEvent(new Event("uploads-idle"));
}

async function finish() {
  if (recorder.on) recordToggle();
  if (uploads.queue.length || uploads.busy) {
    $("upload-status").textContent = format(T.waiting, { n: uploads.queue.length });
    await new Promise((resolve) => root.addEventListener("uploads-idle", resolve, { once: true }));
  }
  if (audio.stream) for (const track of audio.stream.getTracks()) track.stop();
  $("speaker-code").textContent = state.speakerCode;
  const link = $("optout-link");
  link.href = state.optoutUrl;
  link.textContent = state.optoutUrl;
  $("done-purposes").textContent = state.purposes.map((p) => T.purposes[p] || p).join("; ");
  show("step-done");
}

// --- wiring --------------------------------------------------------------------------------------------------

if (root && textNode) {
  $("consent-form").addEventListener("submit", join);
  $("mic-start").addEventListener("click", micCheck);
  $("mic-continue").addEventListener("click", () => {
    show("step-prompts");
    promptShow();
  });
  $("rec").addEventListener("click", recordToggle);
  $("play").addEventListener("click", playBack);
  $("next").addEventListener("click", next);
  $("finish").addEventListener("click", finish);
  document.addEventListener("keydown", (event) => {
    if ($("step-prompts").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
    const key = event.key.toLowerCase();
    if (key === "r") recordToggle();
    else if (key === "p") playBack();
    else if (key === "n") next();
    else return;
    event.preventDefault();
  });
  window.addEventListener("beforeunload", (event) => {
    if (uploads.queue.length) event.preventDefault();
  });
}
