"""One recording through one recipe: the adapter between storage/database and the pure DSP core.

Everything happens in a private temporary directory (never a shared path): the original is copied
there from storage, the DSP functions read it, and each artifact goes back to storage through the
ArtifactWriter (object first, row second, skipped when it already exists).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.storage import s3_object
from apps.processing import dsp
from apps.processing.dsp import preprocess
from apps.processing.dsp.chunked import write_chunked
from apps.processing.dsp.longform import FEATURE_EXT, FEATURE_STORES, LongformResult, stream_artifacts
from apps.processing.dsp.preview import preview_png
from apps.processing.dsp.voiced import VoicedStream
from apps.processing.services.artifacts import ArtifactWriter
from apps.processing.services.plan import (
    PROCESSED_AUDIO_KIND,
    expected_kinds,
    feature_params,
    recording_artifacts_complete,
    whole_signal,
)
from apps.processing.services.recipes import FEATURE_GROUPS

if TYPE_CHECKING:
    from apps.processing.dsp.qa_stream import SignalMeasures, SignalMeasuresStream

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
BLOCK_FRAMES = 1 << 18
PREVIEW_MAX_COLUMNS = 2000
# What a run leaves in its folder besides the original: the original's signal measurements (local_measures).
MEASURES_NAME = "signal-measures.bin"


class UndecodableAudio(Exception):
    """The original cannot be decoded (or cannot be processed with this recipe): fail, never retry."""


def pipeline_run(*, recording, recipe, progress: Progress, workdir: Path | None = None) -> list[str]:
    """Make every missing artifact of ``recipe`` for ``recording``; returns notes in words. Writes Artifacts.

    Works in ``workdir`` when given (the caller removes it, and may read ``local_original(workdir)``
    afterwards), else in a temporary folder of its own.
    """
    spec = recipe.spec
    writer = ArtifactWriter(recording=recording, recipe_hash=recipe.spec_hash)
    kinds = expected_kinds(spec)
    if writer.has_all(kinds):
        progress("done", 100.0)
        return ["every artifact already existed; nothing to do"]
    if workdir is not None:
        run = _Run(recording, spec, writer, progress, workdir)
        run.execute()
        return run.notes
    with tempfile.TemporaryDirectory(prefix="earmark-job-") as tmp:
        return pipeline_run(recording=recording, recipe=recipe, progress=progress, workdir=Path(tmp))


def local_measures(workdir: Path) -> SignalMeasures | None:
    """QA metrics and fingerprint of the whole original that a pipeline run in ``workdir`` measured while it decoded
    the original anyway (None when it did not decode all of it, e.g. every artifact existed already)."""
    path = workdir / MEASURES_NAME
    if not path.is_file():
        return None
    from apps.processing.dsp.qa_stream import SignalMeasures  # scipy.signal, soxr, pyloudnorm: not at import

    return SignalMeasures.from_bytes(path.read_bytes())


def local_original(workdir: Path) -> Path | None:
    """The decodable local copy of the original that a pipeline run left in ``workdir`` (None if it made none)."""
    found = sorted(workdir.glob("original.*"))
    return found[0] if len(found) == 1 else None


def original_fetch(recording, workdir: Path) -> Path:
    """Copy the original into ``workdir`` as ``original.<ext>`` (streamed from S3 to disk; AAC decoded to FLAC by
    ffmpeg, as ingest did), and return its path: what ``local_original(workdir)`` finds afterwards."""
    ext = recording.original_key.rsplit(".", 1)[-1].lower() if "." in recording.original_key else "bin"
    path = workdir / f"original.{ext}"
    if (obj := s3_object(recording.original_key)) is not None:
        # S3: stream straight to disk (django-storages' S3File would buffer the whole object in memory).
        obj.download_file(str(path))
    else:
        with default_storage.open(recording.original_key, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    if ext in ("m4a", "mp4", "aac", "adts") and shutil.which("ffmpeg"):
        # libsndfile cannot read AAC; ingest accepted it through ffmpeg, so decode it the same way.
        import subprocess

        flac = workdir / "original.flac"
        done = subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-c:a", "flac", str(flac)], capture_output=True
        )
        if done.returncode != 0:
            raise UndecodableAudio(f"ffmpeg could not decode the original: {done.stderr.decode()[-200:]}")
        path.unlink()
        return flac
    return path


class _Run:
    def __init__(self, recording, spec: dict, writer: ArtifactWriter, progress: Progress, tmp: Path):
        self.recording, self.spec, self.writer, self.tmp = recording, spec, writer, tmp
        self.arts = set(spec["artifacts"])
        self.params = feature_params(spec)
        self.rate = spec["target_sample_rate"]
        self.mono = spec["channels"] == "mono"
        self.notes: list[str] = []
        self.windowed = spec["length"]["mode"] == "windows"
        self._progress = progress
        self._last = 0.0
        self._measures: SignalMeasuresStream | None = None

    def report(self, stage: str, percent: float, *, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self._last >= 1.0:
            self._last = now
            self._progress(stage, percent)

    def execute(self) -> None:
        self.report("download", 1)
        self.original = self._download()
        self.report("decode", 5)
        try:
            meta = dsp.info(str(self.original))
        except (sf.SoundFileError, RuntimeError, ValueError, EOFError) as exc:
            raise UndecodableAudio(f"The original audio cannot be decoded: {_short(exc)}.") from None
        self.duration = meta.duration
        try:
            clips = self._processed_audio(meta)
        except (sf.SoundFileError, RuntimeError, EOFError) as exc:
            raise UndecodableAudio(f"The original audio cannot be decoded: {_short(exc)}.") from None
        if "processed_audio" in self.arts:
            self.writer.put_path(PROCESSED_AUDIO_KIND, self.processed, "flac", meta=self.processed_meta)
        want_peaks = "peaks" in self.arts and not self.writer.has("peaks")
        want_voiced = "voiced_segments" in self.arts and not self.writer.has("voiced_segments")
        if clips is None and self.processed == self.original:
            # Streaming recipes whose original is already the processed audio: ONE decoding pass makes
            # features, previews, tiles, voiced segments and peaks.
            self.report("features", 20)
            self._spectral_pass(voiced=want_voiced, peaks=want_peaks, measure=meta)
        else:
            self.report("peaks", 20)
            if want_peaks:
                self._peaks()
            if clips is None:
                self.report("features", 30)
                self._spectral_pass(voiced=want_voiced, peaks=False)
            else:
                self.report("voiced_segments", 30)
                if want_voiced:
                    self._voiced()
                self.report("features", 35)
                features = self._features(clips)
                self.report("previews", 65)
                if "previews" in self.arts:
                    self._previews(features)
                self._augmentations(clips, features)
                del features
                self.report("tiles", 70)
                if "tiles" in self.arts and not self.writer.has("tiles_index"):
                    self._tiles()
        self.report("qa", 95)
        if "qa" in self.arts and not self.writer.has("qa"):
            self._qa(meta)
        if "fingerprint" in self.arts and not self.writer.has("fingerprint"):
            self._fingerprint(meta)
        self.report("saving", 99)

    # --- audio -------------------------------------------------------------------------------------

    def _download(self) -> Path:
        return original_fetch(self.recording, self.tmp)

    def _measure(self, meta) -> Callable[[np.ndarray], None]:
        """A tap for a pass that decodes the whole original: QA metrics and fingerprint of its samples, left in the
        folder for whoever reads it next (the runner hands them to review's QA, which then decodes nothing)."""
        from apps.processing.dsp.qa_stream import SignalMeasuresStream  # scipy.signal, soxr, pyloudnorm: on use

        self._measures = SignalMeasuresStream(meta.sample_rate, meta.channels)
        return self._measures.push

    def _measured(self) -> None:
        if self._measures is not None:
            (self.tmp / MEASURES_NAME).write_bytes(self._measures.finish().to_bytes())
            self._measures = None

    def _processed_audio(self, meta) -> list[np.ndarray] | None:
        """Write tmp/processed.flac at the recipe's rate; return the in-memory clips for whole-signal recipes."""
        self.processed = self.tmp / "processed.flac"
        channels = 1 if self.mono else meta.channels
        self.processed_meta = {"sample_rate": self.rate, "channels": channels}
        self.timeline_preserved = True
        if not whole_signal(self.spec):
            self.processed_meta["duration"] = dsp.resampled_length(meta.frames, meta.sample_rate, self.rate) / self.rate
            if (meta.format, meta.subtype, meta.sample_rate) == (
                "FLAC",
                "PCM_16",
                self.rate,
            ) and channels == meta.channels:
                self.processed = self.original  # already the processed audio: no decode and re-encode
                return None
            measures = self._measure(meta)
            with sf.SoundFile(self.processed, "w", self.rate, channels, format="FLAC", subtype="PCM_16") as out:
                for block in dsp.iter_blocks(
                    str(self.original), block_frames=BLOCK_FRAMES, sr=self.rate, mono=self.mono, native_tap=measures
                ):
                    out.write(np.clip(np.atleast_2d(block).T, -1.0, 1.0))
            self._measured()
            return None
        limit = settings.EARMARK_PROCESSING_WHOLE_SIGNAL_MAX_SECONDS
        if meta.duration > limit:
            raise UndecodableAudio(
                f"This recipe trims, normalises, fixes the length or augments, which needs the whole signal in "
                f"memory; the recording is {meta.duration:.0f} s long and the limit is {limit:.0f} s."
            )
        y, _ = dsp.load(str(self.original), sr=self.rate, mono=self.mono)
        spec = self.spec
        if spec["trim"]:
            y, bounds = preprocess.trim_silence(y, self.rate, top_db=spec["trim"]["top_db"])
            self.processed_meta["trim"] = [round(b, 4) for b in bounds]
            self.timeline_preserved = False
            if y.shape[-1] == 0:
                raise UndecodableAudio("The recording is silent: trimming left no audio.")
        norm = spec["normalise"] or {}
        if "loudness_lufs" in norm:
            y = preprocess.normalize_loudness(y, self.rate, norm["loudness_lufs"])
        elif "peak_dbfs" in norm:
            y = preprocess.normalize_peak(y, norm["peak_dbfs"])
        policy = preprocess.LengthPolicy.from_dict(spec["length"])
        clips = policy.apply(y, self.rate)
        if policy.mode == "pad_or_truncate":
            y = clips[0]
            self.timeline_preserved = False
        elif policy.mode == "windows":
            self.processed_meta["windows"] = {
                "count": len(clips),
                "seconds": policy.seconds,
                "hop_seconds": policy.hop_seconds or policy.seconds,
            }
        self.processed_meta["duration"] = y.shape[-1] / self.rate
        sf.write(self.processed, np.clip(np.atleast_2d(y).T, -1.0, 1.0), self.rate, format="FLAC", subtype="PCM_16")
        self.signal = y
        return clips

    # --- artifacts ---------------------------------------------------------------------------------

    def _timeline_source(self) -> str:
        """Audio on the original's timeline at the recipe's rate (what the annotator shows)."""
        return str(self.processed if self.timeline_preserved else self.original)

    def _peaks(self, peaks: dsp.PeakSet | None = None) -> None:
        p = self.spec["peaks"]
        if peaks is None:
            peaks = dsp.compute_peaks(str(self.original), samples_per_pixel=p["samples_per_pixel"], bits=p["bits"])
        self.writer.put_bytes(
            "peaks",
            peaks.to_bytes(),
            "bin",
            meta={
                "sample_rate": peaks.sample_rate,
                "channels": peaks.channels,
                "frames": peaks.frames,
                "samples_per_pixel": [lvl.samples_per_pixel for lvl in peaks.levels],
                "lengths": [lvl.length for lvl in peaks.levels],
                "bits": peaks.bits,
            },
        )

    def _voiced_stream(self, source: str) -> VoicedStream:
        v = self.spec["voiced"]
        meta = dsp.info(source)
        return VoicedStream(
            self.rate,
            top_db=v["top_db"],
            min_silence_s=v["min_silence_s"],
            min_segment_s=v["min_segment_s"],
            spill_dir=self.tmp,
            # 16-bit audio read at its own rate: the spilled samples are exact as int16.
            int16_exact=meta.subtype == "PCM_16" and meta.sample_rate == self.rate,
        )

    def _voiced(self) -> None:
        """Voiced segments in a pass of their own (recipes whose audio is not streamed through the features)."""
        source = self._timeline_source()
        stream = self._voiced_stream(source)
        try:
            for block in dsp.iter_blocks(source, block_frames=BLOCK_FRAMES, sr=self.rate, mono=True):
                stream.push(block)
        except BaseException:
            stream.close()
            raise
        self._put_voiced(stream.finish())

    def _put_voiced(self, segments: list[tuple[float, float]]) -> None:
        body = {"segments": [[round(s, 3), round(e, 3)] for s, e in segments]}
        self.writer.put_bytes(
            "voiced_segments", json.dumps(body).encode(), "json", meta={"count": len(segments), "timeline": "original"}
        )

    def _features(self, clips) -> dict:
        kinds = tuple(k for k in FEATURE_GROUPS if k in self.arts)
        wanted = kinds if not self.arts & {"previews"} else tuple(dict.fromkeys(kinds + ("spectrogram", "mel")))
        if not wanted:
            return {}
        if self.windowed:  # one stacked batch (n_windows, ..., d, T), even for a single window
            feats = dsp.compute_features(np.stack(clips), self.params, wanted)
            tuning = feats.tuning
        else:
            feats = dsp.stream_features(
                str(self.processed), self.params, wanted, mono=self.mono, out_dir=self.tmp / "features"
            )
            tuning = feats.tuning
        for n, kind in enumerate(k for k in feats if k in kinds or k.startswith("mfcc_delta")):
            self.report("features", 35 + 30 * n / max(len(feats), 1), force=False)
            if self.writer.has(kind):
                continue
            path = self.tmp / f"{kind}.out.{FEATURE_EXT}"
            with open(path, "wb") as fh:
                index = write_chunked(fh, feats[kind], store=FEATURE_STORES.get(kind, "float16"))
            self._put_feature(kind, path, index, tuning)
            path.unlink()
        return feats

    def _put_feature(self, kind: str, path: Path, index: dict, tuning) -> None:
        meta = {
            "format": "chunked",
            "shape": index["shape"],
            "store": index["store"],
            "dtype": self.spec["feature_dtype"],
            "hop_length": self.params.hop_length,
            "sample_rate": self.rate,
        }
        if kind == "chroma":
            meta["tuning"] = None if tuning is None else float(tuning)
        self.writer.put_path(kind, path, FEATURE_EXT, meta=meta)

    def _spectral_pass(self, *, voiced: bool, peaks: bool, measure=None) -> None:
        """Features, previews and tiles of a streamed recording from one pass over its STFT; voiced segments
        (and peaks and the original's signal measurements, when the processed audio is the original: ``measure``
        is then its AudioInfo) from the same decoded blocks."""
        kinds = tuple(k for k in FEATURE_GROUPS if k in self.arts and not self._has_feature(k))
        previews = "previews" in self.arts and not (
            self.writer.has("preview_mel") and self.writer.has("preview_spectrogram")
        )
        tiles = None
        if "tiles" in self.arts and not self.writer.has("tiles_index"):
            tiles = self._make_tiles()
        if not (kinds or previews or tiles):
            if peaks:
                self._peaks()
            if voiced:
                self._voiced()
            return
        info = dsp.info(str(self.processed))
        expected = self.params.n_frames(dsp.resampled_length(info.frames, info.sample_rate, self.rate))
        result = LongformResult()
        shared_tiles = tiles if self.mono else None
        total = max(sum(level["count"] for level in tiles.index["levels"]), 1) if tiles else 1
        taps = []
        voiced_stream = self._voiced_stream(str(self.processed)) if voiced else None
        if voiced_stream is not None:
            taps.append(lambda b: voiced_stream.push(b if b.ndim == 1 else b.mean(axis=0)))
        peak_stream = None
        if peaks:
            p = self.spec["peaks"]
            peak_stream = dsp.PeaksStream(info.sample_rate, samples_per_pixel=p["samples_per_pixel"], bits=p["bits"])
            # The blocks are 16-bit samples as floats (k / 32768): back to the exact integers.
            taps.append(lambda b: peak_stream.push(np.rint(b * 32768.0).clip(-32768, 32767).astype(np.int16)))
        if measure is not None:
            taps.append(self._measure(measure))
        n = 0
        try:
            with self.writer.batched():  # the tiles' rows together, before tiles_index says they are complete
                for level, index, png in stream_artifacts(
                    str(self.processed),
                    self.params,
                    kinds,
                    out_dir=self.tmp / "features",
                    mono=self.mono,
                    expected_frames=expected if previews else None,
                    tiles=shared_tiles,
                    block_frames=BLOCK_FRAMES,
                    result=result,
                    taps=taps,
                ):
                    n += 1
                    self.writer.put_bytes(f"tile_{level}_{index}", png, "png")
                    self.report("features", 35 + 55 * n / total, force=False)
        except BaseException:
            if voiced_stream is not None:
                voiced_stream.close()
            raise
        if measure is not None:
            self._measured()
        if peak_stream is not None:
            self._peaks(peak_stream.finish())
        if voiced_stream is not None:
            self._put_voiced(voiced_stream.finish())
        for kind, path in result.files.items():
            self._put_feature(
                kind, path, {"shape": result.shapes[kind], "store": FEATURE_STORES.get(kind, "float16")}, result.tuning
            )
            path.unlink()
        if previews:
            self.report("previews", 90)
            self._render_previews(result.preview_mel, result.preview_spectrogram, result.preview_pool)
        if tiles is not None:
            self.report("tiles", 92)
            if shared_tiles is None:  # several channels: tiles come from the mixdown, in a pass of their own
                self._tiles()
            else:
                self.writer.put_bytes(
                    "tiles_index",
                    json.dumps(tiles.index).encode(),
                    "json",
                    meta={"tiles": sum(level["count"] for level in tiles.index["levels"])},
                )

    def _has_feature(self, kind: str) -> bool:
        if not self.writer.has(kind):
            return False
        return (
            kind != "mfcc"
            or not self.params.mfcc_deltas
            or (self.writer.has("mfcc_delta") and self.writer.has("mfcc_delta2"))
        )

    def _previews(self, feats: dict) -> None:
        pooled = {}
        for source in ("mel", "spectrogram"):
            if source in feats:
                S = np.asarray(feats[source])
                while S.ndim > 2:  # windows / channels: preview the first
                    S = S[0]
                pooled[source] = _pool_columns(S, PREVIEW_MAX_COLUMNS)
        factor = next(iter(pooled.values()))[1] if pooled else 1
        self._render_previews(pooled.get("mel", (None,))[0], pooled.get("spectrogram", (None,))[0], factor)

    def _render_previews(self, mel_power, spec_db, factor: int) -> None:
        """The two labelled preview PNGs from max-pooled columns (mel power, spectrogram dB)."""
        for kind, S, mel in (("preview_mel", mel_power, True), ("preview_spectrogram", spec_db, False)):
            if self.writer.has(kind) or S is None:
                continue
            if mel:
                S = 10.0 * np.log10(np.maximum(S, 1e-10))
                top = self.params.top_db
                if top is not None:
                    S = np.maximum(S, S.max() - top)
            png = preview_png(
                S,
                self.params,
                hop_length=self.params.hop_length * factor,
                mel=mel,
                title=f"{'Mel spectrogram' if mel else 'Spectrogram'} — {self.recording.original_name}",
            )
            self.writer.put_bytes(kind, png, "png", meta={"columns": int(S.shape[-1]), "pool": factor})

    def _augmentations(self, clips, feats: dict) -> None:
        base_seed = (int(self.recording.sha256[:8], 16) + self.spec["seed"]) % (2**32)
        for i, aug in enumerate(self.spec["augmentations"]):
            seed = (base_seed + 7919 * i) % (2**32)
            if aug["kind"] == "spec_augment":
                kind = f"mel_specaug_{i}"
                if self.writer.has(kind):
                    continue
                mel = (
                    np.asarray(feats["mel"])
                    if "mel" in feats
                    else dsp.compute_features(np.stack(clips) if self.windowed else clips[0], self.params, ("mel",))[
                        "mel"
                    ]
                )
                db = 10.0 * np.log10(np.maximum(mel, 1e-10))
                params = {k: v for k, v in aug.items() if k != "kind"}
                params.setdefault("mask_value", "min")
                from apps.processing.dsp.augment import spec_augment  # heavy, and only for recipes that augment

                out = spec_augment(db, seed=seed, **params).astype(self.spec["feature_dtype"])
                path = self.tmp / f"{kind}.npy"
                np.save(path, out)
                self.writer.put_path(
                    kind,
                    path,
                    "npy",
                    meta={"spec": aug, "seed": seed, "shape": list(out.shape), "values": "mel power in dB"},
                )
            else:
                kind = f"audio_aug_{i}"
                if self.writer.has(kind):
                    continue
                from apps.processing.dsp.augment import augment  # heavy, and only for recipes that augment

                y = augment(self.signal, self.rate, aug, seed=seed)
                path = self.tmp / f"{kind}.flac"
                sf.write(path, np.clip(np.atleast_2d(y).T, -1.0, 1.0), self.rate, format="FLAC", subtype="PCM_16")
                self.writer.put_path(kind, path, "flac", meta={"spec": aug, "seed": seed, "sample_rate": self.rate})

    def _make_tiles(self) -> dsp.SpectrogramTiles:
        t = self.spec["tiles"]
        return dsp.spectrogram_tiles(
            self._timeline_source(),
            self.params,
            seconds_per_tile_levels=t["seconds_per_tile"],
            tile_width=t["tile_width"],
            height=t["height"],
            fmin=self.params.fmin,
            fmax=t["fmax"],
            block_frames=BLOCK_FRAMES,
        )

    def _tiles(self) -> None:
        tiles = self._make_tiles()
        total = max(sum(level["count"] for level in tiles.index["levels"]), 1)
        with self.writer.batched():
            for n, (level, index, png) in enumerate(tiles, 1):
                self.writer.put_bytes(f"tile_{level}_{index}", png, "png")
                self.report("tiles", 70 + 25 * n / total, force=False)
        self.writer.put_bytes(
            "tiles_index",
            json.dumps(tiles.index).encode(),
            "json",
            meta={"tiles": sum(level["count"] for level in tiles.index["levels"])},
        )

    def _capped(self, meta, sr: int | None, mono: bool) -> tuple[np.ndarray, int, bool]:
        limit = settings.EARMARK_PROCESSING_WHOLE_SIGNAL_MAX_SECONDS
        if meta.duration <= limit:
            y, rate = dsp.load(str(self.original), sr=sr, mono=mono)
            return y, rate, False
        with sf.SoundFile(str(self.original)) as f:
            y = f.read(int(limit * f.samplerate), dtype="float32", always_2d=True).T
            rate = f.samplerate
        y = y.mean(axis=0) if mono else y
        if sr is not None and sr != rate:
            import librosa

            y, rate = librosa.resample(y, orig_sr=rate, target_sr=sr, res_type="soxr_hq"), sr
        return y, rate, True

    def _qa(self, meta) -> None:
        from apps.processing.dsp.qa import qa_measure  # loaded by the first job that measures QA, not at import

        y, rate, capped = self._capped(meta, None, False)
        metrics = qa_measure(y, rate).as_dict()
        body = {
            "metrics": metrics,
            "measured_seconds": y.shape[-1] / rate,
            "sample_rate": rate,
            "channels": meta.channels,
            "duration": meta.duration,
        }
        if capped:
            self.notes.append(f"QA measured the first {body['measured_seconds']:.0f} s only")
        self.writer.put_bytes("qa", json.dumps(_finite(body)).encode(), "json", meta={"capped": capped})

    def _fingerprint(self, meta) -> None:
        from apps.processing.dsp.fingerprint import SAMPLE_RATE, fingerprint  # loaded by the first job that needs it

        y, rate, capped = self._capped(meta, SAMPLE_RATE, True)
        fp = fingerprint(np.asarray(y, dtype=np.float32), rate)
        self.writer.put_bytes(
            "fingerprint",
            fp.to_bytes(),
            "bin",
            meta={"coarse_key": int(fp.coarse_key), "capped": capped, "frames": len(fp)},
        )


def _pool_columns(S: np.ndarray, max_columns: int) -> tuple[np.ndarray, int]:
    """Max-pool time columns so a long recording's preview stays a few thousand columns wide.

    Reads ``S`` (possibly a memmap of hours of frames) a slab at a time, so memory stays bounded.
    """
    n = S.shape[-1]
    factor = max(1, -(-n // max_columns))
    step = factor * max(1, (1 << 16) // factor)  # whole groups of columns per slab
    out = []
    for start in range(0, n, step):
        slab = np.asarray(S[:, start : start + step], dtype=np.float32)
        cols = slab.shape[-1]
        full = cols // factor * factor
        if full:
            out.append(slab[:, :full].reshape(slab.shape[0], -1, factor).max(axis=2))
        if full < cols:
            out.append(slab[:, full:].max(axis=1, keepdims=True))
    return np.concatenate(out, axis=1), factor


def _finite(value):
    """JSON has no infinities or NaN (a silent file's peak is -inf dBFS): they become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _short(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return text.splitlines()[0][:200]


__all__ = [
    "PROCESSED_AUDIO_KIND",
    "UndecodableAudio",
    "expected_kinds",
    "feature_params",
    "local_measures",
    "local_original",
    "pipeline_run",
    "recording_artifacts_complete",
]
