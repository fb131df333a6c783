"""Voiced segments of a recording of any length, in one streaming pass with bounded memory.

Same answer as :func:`preprocess.voiced_segments` on the whole signal (librosa's ``effects.split``: centred
frames whose RMS is within ``top_db`` of the loudest frame, edges refined to the sample, short gaps
bridged, clicks dropped), computed from blocks:

- each block adds the sums of squares of its ``hop``-sample bins (float64); a frame's power is the mean
  of the bins it covers, so frame energies cost one pass and no frame copies;
- the threshold needs the loudest frame of the whole recording, so frame powers and the samples are
  spilled to two temporary files (8 bytes per hop and 2 or 4 bytes per sample, in ``spill_dir``), and
  :meth:`VoicedStream.finish` walks the frame powers in chunks and reads back only the few samples
  around each edge.

Memory is one block plus a chunk of frame powers, whatever the length; nothing here imports librosa.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

__all__ = ["VoicedStream", "voiced_segments_stream"]

# Frame powers are read back this many at a time (2 MB of float64).
_FRAME_CHUNK = 1 << 18
_AMIN = 1e-10  # librosa.power_to_db's floor (amplitude_to_db's 1e-5, squared)


class VoicedStream:
    """Push consecutive mono blocks (float in [-1, 1]); :meth:`finish` returns ``[(start_s, end_s), ...]``.

    ``int16_exact=True`` promises that every sample is a multiple of 1/32768 (audio decoded from 16-bit
    PCM or FLAC): the spilled samples then take 2 bytes each instead of 4, losslessly.
    """

    def __init__(
        self,
        sr: int,
        *,
        top_db: float = 40.0,
        min_silence_s: float = 0.3,
        min_segment_s: float = 0.1,
        frame_length: int = 2048,
        hop_length: int = 512,
        spill_dir: str | os.PathLike | None = None,
        int16_exact: bool = False,
    ):
        if not (isinstance(sr, (int, np.integer)) and sr > 0):
            raise ValueError(f"Sample rate must be a positive integer, got {sr!r}.")
        if min_silence_s < 0 or min_segment_s < 0:
            raise ValueError("min_silence_s and min_segment_s must not be negative.")
        if hop_length <= 0 or frame_length % hop_length or (frame_length // 2) % hop_length:
            raise ValueError("frame_length and frame_length / 2 must be multiples of hop_length.")
        self.sr, self.top_db = int(sr), float(top_db)
        self.min_silence_s, self.min_segment_s = float(min_silence_s), float(min_segment_s)
        self.frame_length, self.hop = int(frame_length), int(hop_length)
        self.bins_per_frame = self.frame_length // self.hop
        self.n = 0  # samples pushed
        self.any_sound = False
        self.max_power = 0.0
        self.frames = 0
        self._int16 = bool(int16_exact)
        self._dir = tempfile.mkdtemp(prefix="earmark-voiced-", dir=spill_dir)
        self._samples = open(Path(self._dir) / "samples.raw", "w+b")
        self._powers = open(Path(self._dir) / "powers.raw", "w+b")
        # Centre padding: frame t covers samples [t*hop - frame_length/2, t*hop + frame_length/2).
        pad_bins = self.frame_length // 2 // self.hop
        self._bins = np.zeros(pad_bins, np.float64)  # complete bins not yet turned into frames
        self._partial = np.zeros(0, np.float64)  # samples of the bin being filled

    def push(self, block: np.ndarray) -> None:
        y = np.asarray(block)
        if y.ndim != 1:
            raise ValueError("blocks must be mono (n,)")
        if not y.size:
            return
        if self._int16:
            np.rint(y * 32768.0).clip(-32768, 32767).astype("<i2").tofile(self._samples)
        else:
            y.astype("<f4", copy=False).tofile(self._samples)
        if not self.any_sound and np.any(y):
            self.any_sound = True
        self.n += y.size
        self._add_samples(y.astype(np.float64))

    def _add_samples(self, y: np.ndarray) -> None:
        if self._partial.size:
            y = np.concatenate([self._partial, y])
        full = y.size // self.hop * self.hop
        bins = np.square(y[:full]).reshape(-1, self.hop).sum(axis=1)
        self._partial = y[full:].copy()
        self._add_bins(bins)

    def _add_bins(self, bins: np.ndarray) -> None:
        bins = np.concatenate([self._bins, bins])
        k = self.bins_per_frame
        if bins.size >= k:
            c = np.concatenate([[0.0], np.cumsum(bins)])
            power = (c[k:] - c[:-k]) / self.frame_length
            np.maximum(power, 0.0, out=power)  # cumulative sums can leave -1e-20 where there is silence
            power.astype("<f8").tofile(self._powers)
            self.frames += power.size
            if power.size:
                self.max_power = max(self.max_power, float(power.max()))
            bins = bins[power.size :]
        self._bins = bins

    def finish(self) -> list[tuple[float, float]]:
        """The segments, in time order; removes the spill files."""
        try:
            if self.n == 0:
                return []
            # End padding, then only the bins the last frame needs (the partial bin is never complete).
            end_pad = np.zeros(self.frame_length // 2, np.float64)
            self._add_samples(end_pad)
            self._samples.flush()
            self._powers.flush()
            if not self.any_sound:
                return []
            return list(self._segments())
        finally:
            self.close()

    def close(self) -> None:
        self._samples.close()
        self._powers.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _segments(self) -> Iterator[tuple[float, float]]:
        ref_db = 10.0 * np.log10(max(_AMIN, self.max_power))
        # Amplitude threshold for the edge refinement: top_db under the loudest frame's RMS.
        threshold = np.sqrt(self.max_power) * 10.0 ** (-self.top_db / 20.0)
        reach = self.frame_length // 2 + self.hop
        min_gap, min_len = self.min_silence_s * self.sr, self.min_segment_s * self.sr
        merged: list[int] | None = None
        for raw_start, raw_end in self._raw_intervals(ref_db):
            start, end = self._refine(raw_start, raw_end, threshold, reach)
            if merged is not None and start - merged[1] < min_gap:
                merged[1] = end
                continue
            if merged is not None and merged[1] - merged[0] >= min_len:
                yield merged[0] / self.sr, merged[1] / self.sr
            merged = [start, end]
        if merged is not None and merged[1] - merged[0] >= min_len:
            yield merged[0] / self.sr, merged[1] / self.sr

    def _raw_intervals(self, ref_db: float) -> Iterator[tuple[int, int]]:
        """librosa.effects.split's sample intervals, from the spilled frame powers."""
        start: int | None = None
        self._powers.seek(0)
        frame = 0
        while frame < self.frames:
            p = np.fromfile(self._powers, dtype="<f8", count=min(_FRAME_CHUNK, self.frames - frame))
            loud = 10.0 * np.log10(np.maximum(p, _AMIN)) - ref_db > -self.top_db
            # Frame indices where loudness flips, relative to the state carried in.
            prev = np.concatenate([[start is not None], loud[:-1]])
            for i in np.flatnonzero(loud != prev):
                if loud[i]:
                    start = (frame + int(i)) * self.hop
                elif start is not None:  # loud != prev, so a silent frame here follows a loud one
                    yield min(start, self.n), min((frame + int(i)) * self.hop, self.n)
                    start = None
            frame += p.size
        if start is not None:
            yield min(start, self.n), min(self.frames * self.hop, self.n)

    def _read(self, a: int, b: int) -> np.ndarray:
        """|samples[a:b]| as float64 from the spill."""
        size = 2 if self._int16 else 4
        self._samples.seek(a * size)
        raw = np.fromfile(self._samples, dtype="<i2" if self._int16 else "<f4", count=max(0, b - a))
        out = np.abs(raw.astype(np.float64))
        return out / 32768.0 if self._int16 else out

    def _refine(self, start: int, end: int, threshold: float, reach: int) -> tuple[int, int]:
        """Move frame-resolution edges inward to the first/last sample above ``threshold`` (within reach)."""
        head = self._read(start, min(end, start + reach)) > threshold
        if head.any():
            start += int(np.argmax(head))
        tail_base = max(start, end - reach)
        tail = np.flatnonzero(self._read(tail_base, end) > threshold)
        if tail.size:
            end = tail_base + int(tail[-1]) + 1
        return start, end


def voiced_segments_stream(blocks: Iterable[np.ndarray], sr: int, **options) -> list[tuple[float, float]]:
    """:class:`VoicedStream` over an iterable of mono blocks."""
    stream = VoicedStream(sr, **options)
    try:
        for block in blocks:
            stream.push(block)
    except BaseException:
        stream.close()
        raise
    return stream.finish()
