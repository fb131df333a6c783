"""Annotator load: time until drawn and playable, bytes by then (audio included), renderer memory, autosave.

Runs the embedded default (the gunicorn server `make run` starts, on SQLite and local media in a temporary
EARMARK_VAR_DIR), seeds a 5-second and a 60-minute 16 kHz recording (processed in-process:
peaks, tiles, voiced segments), then drives headless Debian Chromium through Playwright:

* Earmark: ``/projects/{id}/annotate/``: waveform from stored peaks, audio streamed by a media element; the
  page streams its head first, then the first item's <audio> and its embedded peaks.
* Baseline, measured in the same run: a page that gives the same wavesurfer.js build the plain audio
  URL, so the browser downloads and decodes the whole file before drawing (what Label Studio does). It is
  served with the Cross-Origin-Opener-Policy header the site sends on every page (Django's default,
  ``same-origin``), as a plain page on the same site would be; the same page without it ("bare") is measured
  beside it. A fresh tab starts on about:blank, and a response with that header makes Chromium move the page
  to a new renderer process (a new browsing context group), 30-60 ms on this machine; a page without it reuses
  the blank tab's renderer. Outside automation nobody pays that difference: a tab opened by the user (new-tab
  page, bookmark, link from another site) starts a new renderer either way, and a navigation between the
  site's own pages (same origin, same policy) changes none.

Each figure is the median of cold loads (a fresh browser context each), Earmark and the baseline
interleaved. Measured from the start of navigation: "interactive" (Earmark's ready event; wavesurfer's
``ready`` for the baseline, which fires before the canvases are drawn), "painted" (wavesurfer's first
``redrawcomplete`` plus one frame, both pages), "playable" (the audio element's ``canplay``) and "usable"
(drawn and playable: the later of painted and playable). Bytes are everything the page received by then,
audio included, from the DevTools protocol's Network events. Renderer memory is the peak RSS (VmHWM) of
the page's renderer process from /proc.

    .venv/bin/python benchmarks/annotator_load.py [--runs 5] [--short-only] [--screenshots docs/screenshots]

BENCH_DEBUG=1 prints every load's marks and its Resource Timing entries (start, response start, response end
in ms from navigation, bytes), then the audio element's events and the main thread's long tasks: where the time
between navigation and usable goes. BENCH_PROFILE=1 prints each Earmark load's JavaScript self time by function.
``--against REF`` (repeatable) serves the Earmark page as a git ref had it from a second server on the same data
and measures it interleaved with this tree's page and the baseline: a change measured against the old code in
one run, under the same load.

``--floor`` adds three pages to the same rounds, each served from memory as the baseline's page is, to show where
Earmark's time goes: "served from memory" (the Earmark page's own bytes and headers, captured once: the page
without the server's share), "floor: embedded item" (a bare page holding the same embedded <audio> and item
that draws them with wavesurfer in a dozen lines, no controls: the fastest this design can be) and "floor + a
line of text" (the same with one line of text, which makes a fresh renderer load its fonts; the baseline page
draws no text at all).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import free_port, positive, web_command

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FILES = [("5 s", 5), ("60 min", 3600)]
READY_JS = """
window.__bench = {};
// Done (all three marks, or an error) is told by one console message: the harness waits for it over the DevTools
// protocol without evaluating anything in the page while it loads (see load_once).
const __benchDone = () => {
  const b = window.__bench;
  if (b.done || !(b.error || (b.ready !== undefined && b.painted !== undefined && b.playable !== undefined))) return;
  b.done = true;
  console.debug('__bench_done');
};
const __benchMark = (name) => {
  if (window.__bench[name] === undefined) window.__bench[name] = performance.now();
  __benchDone();
};
window.__benchError = (e) => {
  window.__bench.error = String(e);
  __benchDone();
};
window.__benchReady = () => __benchMark('ready');
window.__benchPainted = () => __benchMark('painted');
window.__benchPlayable = () => __benchMark('playable');
window.addEventListener('earmark:annotator-ready', () => window.__benchReady());
window.addEventListener('earmark:waveform-painted', () => window.__benchPainted());
// canplay does not bubble, but a capturing listener on window sees it for any media element in the page.
window.addEventListener('canplay', () => window.__benchPlayable(), true);
"""
# BENCH_DEBUG: the media element's steps and the main thread's long tasks, in ms from navigation.
DEBUG_JS = """
window.__benchTrace = [];
for (const name of ['loadstart', 'durationchange', 'loadedmetadata', 'loadeddata', 'canplay', 'suspend'])
  window.addEventListener(name, () => window.__benchTrace.push([name, Math.round(performance.now())]), true);
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    window.__benchTrace.push(['longtask', Math.round(e.startTime), Math.round(e.duration)]);
}).observe({ type: 'longtask', buffered: true });
"""
NAIVE_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>naive</title></head>
<body style="margin:24px;font:14px system-ui"><div id="wf" style="width:1300px"></div>
<script type="module">
import { WaveSurfer } from '/static/annotation/annotator.js';
const ws = WaveSurfer.create({ container: '#wf', url: '/api/v1/recordings/%(rid)d/audio', height: 144,
  waveColor: '#94a3b8', progressColor: '#475569' });
ws.getMediaElement().addEventListener('canplay', () => window.__benchPlayable());
ws.on('ready', () => window.__benchReady());
ws.once('redrawcomplete', () => requestAnimationFrame(() => window.__benchPainted()));
ws.on('error', (e) => window.__benchError(e));
</script></body></html>"""
# --floor: the embedded item alone (the Earmark page's <audio> and json_script "annotator-first", drawn as
# Waveform.init draws them), optionally under one line of text.
FLOOR_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head>
<body style="margin:24px;font:14px system-ui">%(text)s<div id="wf" style="width:1300px"></div>
<script type="module">
import { WaveSurfer } from '/static/annotation/annotator.js';
const first = JSON.parse(document.getElementById('annotator-first').textContent);
const peaks = first.peaks, scale = peaks.bits === 8 ? 127 : 32767;
const data = Float32Array.from(peaks.data.slice(0, 2 * peaks.length), (v) => v / scale);
const media = document.querySelector('audio[data-role="audio"]');
media.addEventListener('canplay', () => window.__benchPlayable());
const ws = WaveSurfer.create({ container: '#wf', media, peaks: [data], duration: first.item.recording.duration,
  height: 144, normalize: true, waveColor: '#94a3b8', progressColor: '#475569' });
ws.on('ready', () => window.__benchReady());
ws.once('redrawcomplete', () => requestAnimationFrame(() => window.__benchPainted()));
ws.on('error', (e) => window.__benchError(e));
</script>
%(embedded)s
</body></html>"""
FLOOR_TEXT = "<p>Annotate 5s-16k.wav <button>Play</button> <kbd>Space</kbd> speech noise music</p>"
DONE_MESSAGE = "__bench_done"


class NetworkLog:
    """Bytes the page received up to a moment, audio included, from the DevTools protocol's Network events.

    A response finished by then counts its whole wire size (headers and body); one still streaming (the
    audio of a long file) counts the body bytes received so far. Times are the protocol's monotonic clock;
    the page's performance.now() starts at the navigation request (``origin``).
    """

    def __init__(self, cdp):
        self.origin = None
        self.finished: dict[str, tuple[float, int]] = {}
        self.chunks: dict[str, list[tuple[float, int]]] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._done)
        cdp.send("Network.enable")

    def _sent(self, e):
        if self.origin is None and e.get("type") == "Document":
            self.origin = e["timestamp"]

    def _data(self, e):
        self.chunks.setdefault(e["requestId"], []).append((e["timestamp"], e["dataLength"]))

    def _done(self, e):
        self.finished[e["requestId"]] = (e["timestamp"], int(e["encodedDataLength"]))

    def bytes_until(self, page_ms: float) -> int:
        cutoff = (self.origin or 0.0) + page_ms / 1000
        total = 0
        for rid in set(self.chunks) | set(self.finished):
            done = self.finished.get(rid)
            if done and done[0] <= cutoff:
                total += done[1]
            else:
                total += sum(n for t, n in self.chunks.get(rid, ()) if t <= cutoff)
        return total


# --- the server (a subprocess on a temporary var dir) ------------------------------------------------------


def server_env(var_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CELERY_", "AWS_", "EARMARK_", "MEDIA_", "DJANGO_"))
    }
    env.update(
        {
            "EARMARK_VAR_DIR": str(var_dir),
            "EARMARK_ENV_FILE": str(var_dir / "none.env"),
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "SECRET_KEY": "benchmark-only-" + "x" * 40,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "NUMBA_CACHE_DIR": str(ROOT / "var" / "numba-cache"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def seed(var_dir: Path) -> dict:
    """(In a subprocess with server_env) migrate, create users/projects/labels, ingest and process the files."""
    import django

    django.setup()
    import numpy as np
    import soundfile as sf
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from apps.accounts.models import Membership
    from apps.annotation.models import Label
    from apps.annotation.services import queue_next
    from apps.catalog.models import Speaker
    from apps.catalog.services.ingest import recording_ingest
    from apps.catalog.services.projects import project_create
    from apps.consent.services import consents_grant_bulk

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    manager = users.create_user("bench-manager", password="bench-password-123")
    out = {}
    for name, seconds in FILES:
        annotator = users.create_user(f"bench-annotator-{seconds}", password="bench-password-123")
        project = project_create(name=f"Annotator benchmark {name}", created_by=manager)
        Membership.objects.create(user=annotator, project=project, role="annotator")
        for i, (label, color) in enumerate([("speech", "#2563eb"), ("noise", "#dc2626"), ("music", "#16a34a")]):
            Label.objects.create(project=project, kind="region", name=label, color=color, hotkey=str(i + 1), order=i)
        # A named, consenting speaker: a speakerless recording that a voice detector takes for speech waits
        # in quarantine (DESIGN.md), and these tone bursts can pass for speech.
        consents_grant_bulk(speakers=[Speaker.objects.create(project=project, code="bench-speaker")])
        path = var_dir / f"bench-{seconds}s.wav"
        write_speechy_wav(path, seconds, np, sf)
        started = time.perf_counter()
        with open(path, "rb") as fh:
            result = recording_ingest(
                project=project,
                fileobj=fh,
                name=f"{seconds}s-16k.wav",
                created_by=manager,
                speaker_code="bench-speaker",
            )
        if result.status != "accepted":
            raise SystemExit(f"seeding failed: {result}")
        # The annotator's queue hands this recording out (as the first page open would): annotators stream
        # only recordings in their own work.
        queue_next(project_id=project.id, user=annotator)
        client = Client()
        client.force_login(annotator)
        out[str(seconds)] = {
            "project": project.id,
            "recording": result.recording_id,
            "bytes": path.stat().st_size,
            "session": client.cookies["sessionid"].value,
            "ingest_and_process_s": round(time.perf_counter() - started, 1),
        }
        path.unlink()
    return out


def write_speechy_wav(path, seconds, np, sf, sr=16000):
    """Tone bursts with pauses (so voice detection finds segments), written a minute at a time."""
    rng = np.random.default_rng(seconds)
    block = sr * 60
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="WAV", subtype="PCM_16") as f:
        for start in range(0, seconds * sr, block):
            n = min(block, seconds * sr - start)
            t = (np.arange(n) + start) / sr
            gate = ((t % 3.1) < 1.7).astype(np.float32)
            y = 0.4 * gate * np.sin(2 * np.pi * (180 + 40 * np.sin(t)) * t) + 0.003 * rng.standard_normal(n)
            f.write(y.astype(np.float32))


def start_server(env: dict, port: int, log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    fh = open(log, "wb")

    proc = subprocess.Popen(
        web_command(f"127.0.0.1:{port}", env),
        cwd=cwd,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the web server exited:\n{log.read_text()}") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the web server did not start")


def check_processed(base: str, info: dict) -> None:
    req = urllib.request.Request(
        f"{base}/api/v1/recordings/{info['recording']}/peaks?max_length=100",
        headers={"Cookie": f"sessionid={info['session']}"},
    )
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except OSError as exc:
        raise SystemExit(f"recording {info['recording']} has no peaks ({exc}); is processing wired in?") from None


# --- renderer memory from /proc ---------------------------------------------------------------------------


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def renderers() -> set[int]:
    out = set()
    for pid in _descendants(os.getpid()):
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            pass
    return out


def rss_mb(pids) -> float:
    """Peak resident memory (VmHWM) of the largest of these renderers, in MB.

    A new context also gets an initial about:blank renderer and Chromium's spare renderer; they do no
    work for the page, and summing their RSS would count the shared libraries several times.
    """
    peaks = [0]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]))
        except OSError:
            pass
    return max(peaks) / 1024


# --- one measured load -------------------------------------------------------------------------------------


def naive_page(info: dict, coop: str | None) -> tuple[str, str, dict]:
    """The baseline's page, as load_once's ``static``; ``coop``: its Cross-Origin-Opener-Policy, or None (bare)."""
    return "/__bench__/naive", NAIVE_HTML % {"rid": info["recording"]}, page_headers(coop)


def page_headers(coop: str | None) -> dict:
    """A static page's response headers: its type, and ``coop`` as its Cross-Origin-Opener-Policy when given."""
    return {"Content-Type": "text/html; charset=utf-8", **({"Cross-Origin-Opener-Policy": coop} if coop else {})}


def site_coop(base: str) -> str | None:
    """The Cross-Origin-Opener-Policy the site sends on its pages (the sign-in page's), or None."""
    with urllib.request.urlopen(f"{base}/accounts/login/", timeout=30) as resp:
        return resp.headers.get("Cross-Origin-Opener-Policy")


def load_once(browser, base: str, info: dict, static=None, timeout_s: float = 120.0, keep=False):
    """One cold load of the Earmark page, or of ``static``, a page given as (path, body, headers) and served from
    memory (the baseline's: naive_page). Its marks, bytes and memory."""
    before = renderers()  # every renderer that appears from here on serves this context's page
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.add_cookies([{"name": "sessionid", "value": info["session"], "url": base}])
    ctx.add_init_script(READY_JS)
    if os.environ.get("BENCH_DEBUG"):
        ctx.add_init_script(DEBUG_JS)
    if static is not None:
        path, body, headers = static
        ctx.route(f"{base}{path}", lambda route: route.fulfill(status=200, headers=headers, body=body))
        url = f"{base}{path}"
    else:
        url = f"{base}/projects/{info['project']}/annotate/"
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    network = NetworkLog(cdp)
    profiling = os.environ.get("BENCH_PROFILE") and static is None
    if profiling:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    # Waited for as a console message (READY_JS), not with wait_for_function: that injects Playwright's selector
    # engine into the page and compiles it on the page's main thread during the load (14-29 ms in traced loads),
    # then evaluates a predicate every 20 ms, all in the time being measured, and costlier for a page whose main
    # thread is busy than for one waiting on the network.
    with page.expect_console_message(lambda m: m.text == DONE_MESSAGE, timeout=timeout_s * 1000):
        page.goto(url, wait_until="commit")
    bench = page.evaluate("window.__bench")
    if profiling:
        print_profile(cdp.send("Profiler.stop")["profile"], max(bench["painted"], bench["playable"]))
    if bench.get("error"):
        raise SystemExit(f"{url}: {bench['error']}")
    mine = renderers() - before
    if os.environ.get("BENCH_DEBUG"):
        print(url, bench)
        for e in page.evaluate(
            "() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
            ".map((e) => [e.name.slice(-60), Math.round(e.startTime), Math.round(e.responseStart), "
            "Math.round(e.responseEnd), e.transferSize])"
        ):
            print("   ", e)
        print("    trace", page.evaluate("window.__benchTrace"))
    cdp.send("Performance.enable")
    heap = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}.get("JSHeapUsedSize", 0)
    usable = max(bench["painted"], bench["playable"])  # drawn and playable: both must have happened
    result = {
        "ready_ms": bench["ready"],
        "painted_ms": bench["painted"],
        "playable_ms": bench["playable"],
        "usable_ms": usable,
        "bytes": network.bytes_until(bench["ready"]),
        "bytes_playable": network.bytes_until(usable),
        "rss_mb": rss_mb(mine),
        "heap_mb": heap / 2**20,
    }
    if keep:
        return result, ctx, page
    ctx.close()
    return result, None, None


def print_profile(profile: dict, until_ms: float) -> None:
    """BENCH_PROFILE: JavaScript self time by function (sampled) from navigation to usable, largest first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    self_us: dict[str, float] = {}
    t = profile["startTime"]
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        t += delta
        frame = nodes[node_id]["callFrame"]
        where = f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber']}:{frame['columnNumber']}"
        key = f"{frame['functionName'] or '(anon)'} {where}"
        self_us[key] = self_us.get(key, 0.0) + delta
    total = sum(v for k, v in self_us.items() if not k.startswith("(idle)"))
    print(f"    profile: {total / 1000:.0f} ms busy (samples until the page was left)")
    for key, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:25]:
        print(f"      {us / 1000:7.1f} ms  {key}")


def autosave_round_trips(page, saves: int = 40) -> dict[str, list[float]]:
    """Time the page's own autosave (one PUT with the whole document) for documents of 1..N regions.

    "debounced": what an annotator gets. After each edit the page's autosave fires by itself (800 ms
    after the last change); timed from the PUT leaving the page to the page showing "Saved".
    "right after edit": the worst case, a save forced in the frame after the edit is drawn (flush),
    while the browser still rasterises the edit on the same two CPUs the server runs on.
    Both start once the page has finished loading (no request in flight for 0.5 s).
    """
    page.wait_for_load_state("networkidle")
    return page.evaluate(
        """async (n) => {
      const p = window.earmarkAnnotator, a = p.item.autosave, api = a.api, send = api.saveAnnotation;
      let sent = 0;
      api.saveAnnotation = function (...args) { sent = performance.now(); return send.apply(this, args); };
      const drawn = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      const saved = () => new Promise((done, fail) => {
        const off = a.on('state', (state) => {
          if (state === 'saved') { off(); done(performance.now() - sent); }
          else if (state === 'error' || state === 'conflict' || state === 'retrying') {
            off(); fail(new Error('autosave failed: ' + state + ' ' + a.detail));
          }
        });
      });
      const out = { debounced: [], 'right after edit': [] };
      try {
        for (let i = 0; i < n; i++) {
          const done = saved();
          p.store.addRegion({ start: 0.05 * i, end: 0.05 * i + 0.04, label: null, text: 'word ' + i });
          out.debounced.push(await done);
        }
        for (let i = 0; i < n; i++) {
          p.store.addRegion({ start: 5 + 0.05 * i, end: 5 + 0.05 * i + 0.04, label: null, text: 'more ' + i });
          await drawn();
          const t0 = performance.now();
          if (!(await a.flush())) throw new Error('autosave failed: ' + a.state + ' ' + a.detail);
          out['right after edit'].push(performance.now() - t0);
        }
      } finally {
        api.saveAnnotation = send;
      }
      return out;
    }""",
        saves,
    )


def screenshot(page, path: Path, seconds: int) -> None:
    """A realistic state: a few labelled regions with transcripts, one selected."""
    page.evaluate(
        """(seconds) => {
      const p = window.earmarkAnnotator;
      p.store.replace({ regions: [], clip_labels: [] });
      const base = seconds > 60 ? 1830 : 0.3, labels = (p.schema.region_labels || []).map((l) => l.id);
      const spans = [[0, 1.4, 0, 'turn the lights off please'], [1.7, 2.9, 1, ''], [3.1, 4.4, 0, 'and the heating']];
      let last = null;
      for (const [a, b, li, text] of spans)
        last = p.store.addRegion({ start: base + a, end: base + b, label: labels[li] ?? null, text });
      if (seconds > 60) {
        p.store.updateRegion(p.store.regions[1].id, { fmin: 150, fmax: 1200 }); // a time-frequency box
        p.waveform.zoomBy(120);
        p.waveform.scrollToCenter(base + 5);
        if (!p.showSpectrogram) p.toggleSpectrogram();
      }
      p.selectRegion(last, { reveal: false });
    }""",
        seconds,
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path), full_page=True)


# --- main --------------------------------------------------------------------------------------------------


def median(values):
    return statistics.median(values)


def pct(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def round_ratios(ours: list[dict], theirs: list[dict], key: str = "usable_ms") -> str:
    """The spread of the rounds' own ratios (each round loads every page once, back to back): their median and the
    middle half, how far one run's ratio of medians can be trusted."""
    ratios = [a[key] / b[key] for a, b in zip(ours, theirs, strict=True)]
    return f"rounds' ratios: median {median(ratios):.2f}x, middle half {pct(ratios, 25):.2f}-{pct(ratios, 75):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=positive, default=5, help="cold loads per file, for Earmark and the baseline each"
    )
    parser.add_argument("--short-only", action="store_true", help="only the 5-second file (a quick check)")
    parser.add_argument("--screenshots", default=str(ROOT / "docs" / "screenshots"), help="'' to skip")
    parser.add_argument(
        "--against",
        metavar="REF",
        action="append",
        default=[],
        help="also measure the Earmark page as a git ref had it (its tree served by a server of its own on the "
        "same data), interleaved with this tree's page and the baseline; may be given more than once",
    )
    parser.add_argument(
        "--saves", type=positive, default=40, help="autosave round trips timed per kind after the loads (default 40)"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the Earmark page served from memory and two bare pages drawing its embedded item "
        "(where the time goes; see the module docstring)",
    )
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global FILES
    if args.short_only:
        FILES = FILES[:1]
    if args.seed:  # the seeding subprocess
        print(json.dumps(seed(Path(args.seed))))
        return

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="earmark-bench-annotator-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir)
        print("Seeding a 5-second and a 60-minute 16 kHz recording (ingest + processing)...", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--seed", str(var_dir), *(["--short-only"] if args.short_only else [])],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"seeding failed:\n{done.stdout}\n{done.stderr}")
        seeded = json.loads(done.stdout.strip().splitlines()[-1])
        for name, seconds in FILES:
            info = seeded[str(seconds)]
            mib, took = info["bytes"] / 2**20, info["ingest_and_process_s"]
            print(f"  {name}: {mib:.1f} MiB WAV, ingested and processed in {took} s")
        port = free_port()
        server = start_server(env, port, var_dir / "web.log")
        base = f"http://127.0.0.1:{port}"
        servers, against = [server], {}
        try:
            for i, ref in enumerate(args.against):
                old_tree = export_tree(ref, var_dir / f"against-{i}")
                old_port = free_port()
                old_env = {**env, "PYTHONPATH": str(old_tree)}
                servers.append(start_server(old_env, old_port, var_dir / f"web-against-{i}.log", cwd=old_tree))
                against[ref] = f"http://127.0.0.1:{old_port}"
            for info in seeded.values():
                check_processed(base, info)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                results = measure(browser, base, seeded, args, against=against)
                browser.close()
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=10)
    report(results, args)


def export_tree(ref: str, into: Path) -> Path:
    """The repository's tree at ``ref`` (its code, templates and committed bundle), for --against."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


FLOOR_KINDS = ("served from memory", "floor: embedded item", "floor + a line of text")


def floor_pages(base: str, info: dict, coop: str | None) -> dict[str, tuple[str, str | bytes, dict]]:
    """--floor: the Earmark page's bytes and headers, captured once (the item is already claimed, so every load
    of the page embeds the same one), and the two bare pages built from the item it embeds (served with the
    site's ``coop``, as the baseline is)."""
    req = urllib.request.Request(
        f"{base}/projects/{info['project']}/annotate/", headers={"Cookie": f"sessionid={info['session']}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        skip = ("transfer-encoding", "connection", "date", "server")
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in skip}
    text = body.decode()
    audio = re.search(r'<audio data-role="audio"[^>]*></audio>', text)
    item = re.search(r'<script id="annotator-first" type="application/json">.*?</script>', text, re.S)
    if not (audio and item):
        raise SystemExit("--floor: the annotator page embedded no first item (is the recording processed?)")
    embedded = audio.group(0) + "\n" + item.group(0)
    plain = page_headers(coop)
    return {
        FLOOR_KINDS[0]: (f"/projects/{info['project']}/annotate/", body, headers),
        FLOOR_KINDS[1]: ("/__bench__/floor", FLOOR_HTML % {"text": "", "embedded": embedded}, plain),
        FLOOR_KINDS[2]: ("/__bench__/floor-text", FLOOR_HTML % {"text": FLOOR_TEXT, "embedded": embedded}, plain),
    }


def measure(browser, base, seeded, args, against=None) -> dict:
    results = {}
    # The pages measured: this tree's, the baseline, with --against the same page served by each old tree, and with
    # --floor the pages served from memory (floor_pages, per file).
    # The baseline twice: with the site's Cross-Origin-Opener-Policy (the comparison) and without ("naive-bare").
    coop = site_coop(base)
    pages = [("ours", base), ("naive", base)] + ([("naive-bare", base)] if coop else [])
    pages += list((against or {}).items())
    floors = FLOOR_KINDS if args.floor else ()

    def one(kind, url, info, statics, keep=False):
        if kind == "naive":
            static = naive_page(info, coop)
        elif kind == "naive-bare":
            static = naive_page(info, None)
        else:
            static = statics.get(kind)
        return load_once(browser, url, info, static=static, timeout_s=300, keep=keep)

    statics = {}
    for _name, seconds in FILES:  # warm the servers' imports and caches once per page kind
        info = seeded[str(seconds)]
        for kind, url in pages:
            one(kind, url, info, {})
        statics[seconds] = floor_pages(base, info, coop) if floors else {}
        for kind in floors:
            one(kind, base, info, statics[seconds])
    pages += [(kind, base) for kind in floors]
    for name, seconds in FILES:
        info = seeded[str(seconds)]
        rows = {kind: [] for kind, _ in pages}
        for run in range(args.runs):  # interleaved, rotating which page goes first: the same load for each
            for kind, url in pages[run % len(pages) :] + pages[: run % len(pages)]:
                rows[kind].append(one(kind, url, info, statics[seconds])[0])
        ours, naive = rows["ours"], rows["naive"]
        _, ctx, page = one("ours", base, info, {}, keep=True)
        saves = autosave_round_trips(page, args.saves)
        if args.screenshots:
            out = Path(args.screenshots)
            out.mkdir(parents=True, exist_ok=True)
            screenshot(page, out / ("annotator-5s.png" if seconds == 5 else "annotator-60min.png"), seconds)
        ctx.close()
        results[name] = {"ours": ours, "naive": naive, "naive_bare": rows.get("naive-bare"), "saves": saves}
        results[name]["against"] = {ref: rows[ref] for ref in against or {}}
        results[name]["floor"] = {kind: rows[kind] for kind in floors}
    return results


def report(results: dict, args) -> None:
    def med(rows, key):
        return median([r[key] for r in rows])

    print()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) "
        "at the end of the run"
    )
    print(
        "Annotator load, headless Chromium on the embedded default (gunicorn, SQLite, local media); "
        f"median of {args.runs} cold loads per page, Earmark and baseline interleaved.\n"
        "interactive: Earmark's ready event / wavesurfer's 'ready'; painted: wavesurfer's first 'redrawcomplete' "
        "(+1 frame); playable: the audio element's 'canplay'; usable: drawn and playable (the later of the two); "
        "bytes: everything received by then, audio included (DevTools Network events)."
    )
    print(
        f"{'file':<7} {'page':<34} {'interactive':>11} {'painted':>8} {'playable':>9} {'usable':>8}"
        f" {'bytes@usable':>13} {'renderer':>9}"
    )
    for name, r in results.items():
        pages = [("Earmark (embedded item + peaks)", r["ours"])]
        pages += [(f"Earmark at {ref}"[:34], rows) for ref, rows in r["against"].items()]
        pages += list(r["floor"].items())
        pages.append(("baseline (wavesurfer given file)", r["naive"]))
        if r["naive_bare"]:
            pages.append(("baseline, bare (no COOP header)", r["naive_bare"]))
        for label, rows in pages:
            print(
                f"{name:<7} {label:<34} {med(rows, 'ready_ms') / 1000:>9.3f} s {med(rows, 'painted_ms') / 1000:>6.3f} s"
                f" {med(rows, 'playable_ms') / 1000:>7.3f} s {med(rows, 'usable_ms') / 1000:>6.3f} s"
                f" {med(rows, 'bytes_playable') / 2**20:>10.2f} MB {med(rows, 'rss_mb'):>6.0f} MB"
            )
        print(
            f"{'':<7} {'Earmark / baseline (usable)':<34} {'':>11} {'':>8} {'':>9}"
            f" {med(r['ours'], 'usable_ms') / med(r['naive'], 'usable_ms'):>7.2f}x"
            f" {med(r['ours'], 'bytes_playable') / med(r['naive'], 'bytes_playable'):>12.3f}x"
            f" {med(r['ours'], 'rss_mb') / max(med(r['naive'], 'rss_mb'), 1e-9):>8.2f}x"
            f"   ({round_ratios(r['ours'], r['naive'])})"
        )
        if r["naive_bare"]:
            print(
                f"{'':<7} {'Earmark / bare baseline (usable)':<34} {'':>11} {'':>8} {'':>9}"
                f" {med(r['ours'], 'usable_ms') / med(r['naive_bare'], 'usable_ms'):>7.2f}x"
            )
        for kind, rows in r["floor"].items():
            print(
                f"{'':<7} {(kind + ' / baseline')[:34]:<34} {'':>11} {'':>8} {'':>9}"
                f" {med(rows, 'usable_ms') / med(r['naive'], 'usable_ms'):>7.2f}x"
            )
        for ref, rows in r["against"].items():
            # Also the rounds' own ratios: less moved by the machine's load drifting between rounds than a ratio of
            # medians.
            print(
                f"{'':<7} {('Earmark / ' + ref)[:25] + ' (usable)':<34} {'':>11} {'':>8} {'':>9}"
                f" {med(r['ours'], 'usable_ms') / med(rows, 'usable_ms'):>7.2f}x"
                f"   (at {ref}: {med(rows, 'usable_ms') / med(r['naive'], 'usable_ms'):.2f}x of the baseline;"
                f" {round_ratios(r['ours'], rows)})"
            )
    if "5 s" in results and "60 min" in results:
        long_ours, short_naive = results["60 min"]["ours"], results["5 s"]["naive"]
        bare = results["5 s"]["naive_bare"]
        print(
            "Earmark 60 min usable / baseline 5 s usable: "
            f"{med(long_ours, 'usable_ms') / med(short_naive, 'usable_ms'):.2f}x"
            + (f" ({med(long_ours, 'usable_ms') / med(bare, 'usable_ms'):.2f}x of the bare baseline)" if bare else "")
            + " (aims: 5 s <= 1.0x of the baseline with the same file; 60 min within 1.5x)"
        )
    for name, r in results.items():
        for kind, s in r["saves"].items():
            print(
                f"autosave round-trip ({name}, {kind}, {len(s)} saves of {len(s)} growing documents): "
                f"p50 {pct(s, 50):.1f} ms  p95 {pct(s, 95):.1f} ms"
            )


if __name__ == "__main__":
    main()
