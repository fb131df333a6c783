"""Multi-resolution waveform peaks (min/max per bucket) in one streaming pass.

Output speaks BBC audiowaveform: JSON (``to_audiowaveform_json``) and the
binary ``.dat`` version 2 layout (``Peaks.to_bytes``), which wavesurfer.js and
peaks.js read. ``PeakSet.to_bytes`` is Earmark's compact storage form: only
the finest level (the coarser ones are re-derived exactly), delta-coded per
channel and zlib-compressed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .io import _open, is_audio_source

__all__ = ["DEFAULT_SAMPLES_PER_PIXEL", "Peaks", "PeakSet", "PeaksStream", "compute_peaks"]

DEFAULT_SAMPLES_PER_PIXEL = (256, 2048, 16384)
_DAT_HEADER = struct.Struct("<iIiiIi")  # version, flags, rate, spp, length, channels
_STORE_MAGIC = b"EMPK"
_STORE_HEADER = struct.Struct("<4sBBHIQH")  # magic, format version, bits, channels, rate, frames, n_levels


@dataclass(frozen=True, eq=False)
class Peaks:
    """One resolution: ``data[i, c] == (min, max)`` of bucket ``i``, channel ``c``."""

    sample_rate: int
    samples_per_pixel: int
    bits: int
    data: np.ndarray  # (length, channels, 2), int16 for 16 bits, int8 for 8

    @property
    def length(self) -> int:
        return int(self.data.shape[0])

    @property
    def channels(self) -> int:
        return int(self.data.shape[1])

    def to_audiowaveform_json(self) -> dict[str, Any]:
        """The audiowaveform JSON (version 2) object, ready for ``json.dumps``."""
        return {
            "version": 2,
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "bits": self.bits,
            "length": self.length,
            "data": self.data.ravel().tolist(),
        }

    def to_bytes(self) -> bytes:
        """audiowaveform ``.dat`` version 2 (little-endian, channels interleaved)."""
        flags = 1 if self.bits == 8 else 0
        head = _DAT_HEADER.pack(2, flags, self.sample_rate, self.samples_per_pixel, self.length, self.channels)
        return head + self.data.astype("<i1" if self.bits == 8 else "<i2", copy=False).tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Peaks:
        """Read a ``.dat`` (version 1 or 2)."""
        version = struct.unpack_from("<i", blob)[0]
        if version == 2:
            _, flags, rate, spp, length, channels = _DAT_HEADER.unpack_from(blob)
            offset = _DAT_HEADER.size
        elif version == 1:
            _, flags, rate, spp, length = struct.unpack_from("<iIiiI", blob)
            channels, offset = 1, 20
        else:
            raise ValueError(f"not an audiowaveform .dat file (version {version})")
        bits = 8 if flags & 1 else 16
        dtype = np.dtype("<i1" if bits == 8 else "<i2")
        data = np.frombuffer(blob, dtype=dtype, count=length * channels * 2, offset=offset)
        return cls(rate, spp, bits, data.reshape(length, channels, 2).astype(dtype.newbyteorder("=")))

    def as_float(self) -> np.ndarray:
        """(channels, length, 2) floats in [-1, 1], the scale wavesurfer draws."""
        scale = 127.0 if self.bits == 8 else 32767.0
        return np.clip(np.transpose(self.data, (1, 0, 2)) / scale, -1.0, 1.0)


@dataclass(frozen=True, eq=False)
class PeakSet:
    """All resolutions of one recording, finest first."""

    sample_rate: int
    channels: int
    frames: int
    bits: int
    levels: tuple[Peaks, ...]

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def level(self, samples_per_pixel: int) -> Peaks:
        for p in self.levels:
            if p.samples_per_pixel == samples_per_pixel:
                return p
        raise KeyError(f"no level with samples_per_pixel={samples_per_pixel}")

    def best(self, max_length: int) -> Peaks:
        """The finest level whose length is at most ``max_length`` (else the coarsest)."""
        for p in self.levels:
            if p.length <= max_length:
                return p
        return self.levels[-1]

    def to_bytes(self) -> bytes:
        """Compact storage form (see module docstring); ``from_bytes`` restores it exactly."""
        finest = self.levels[0]
        spps = [p.samples_per_pixel for p in self.levels]
        head = _STORE_HEADER.pack(_STORE_MAGIC, 1, self.bits, self.channels, self.sample_rate, self.frames, len(spps))
        head += struct.pack(f"<{len(spps)}I", *spps)
        return head + zlib.compress(_delta_encode(finest.data), 9)

    @classmethod
    def from_bytes(cls, blob: bytes) -> PeakSet:
        magic, version, bits, channels, rate, frames, n = _STORE_HEADER.unpack_from(blob)
        if magic != _STORE_MAGIC or version != 1:
            raise ValueError("not an Earmark peaks blob")
        offset = _STORE_HEADER.size
        spps = struct.unpack_from(f"<{n}I", blob, offset)
        offset += 4 * n
        dtype = np.int8 if bits == 8 else np.int16
        length = -(-frames // spps[0]) if frames else 0
        finest = _delta_decode(zlib.decompress(blob[offset:]), length, channels, dtype)
        return cls(rate, channels, frames, bits, _levels_from_finest(finest, rate, bits, spps))


class PeaksStream:
    """Peaks of consecutive blocks pushed one at a time (``compute_peaks`` without owning the reading).

    Blocks are ``(n,)`` / ``(C, n)``: int16 as is, floats in [-1, 1] scaled by 32767 and rounded.
    """

    def __init__(
        self, sample_rate: int, *, samples_per_pixel: Sequence[int] = DEFAULT_SAMPLES_PER_PIXEL, bits: int = 16
    ):
        if bits not in (8, 16):
            raise ValueError("bits must be 8 or 16")
        spps = sorted(set(int(s) for s in samples_per_pixel))
        if not spps or spps[0] <= 0 or any(s % spps[0] for s in spps):
            raise ValueError("samples_per_pixel must be positive multiples of the smallest one")
        self.rate, self.bits, self.spps = int(sample_rate), bits, spps
        self.parts: list[np.ndarray] = []
        self.carry: np.ndarray | None = None
        self.frames = 0
        self.channels: int | None = None

    def push(self, block: np.ndarray) -> None:
        self.push_frames(_as_int16_frames(block))

    def push_frames(self, block: np.ndarray) -> None:
        """(n, C) int16 frames."""
        spp = self.spps[0]
        if self.channels is None:
            self.channels = block.shape[1]
        elif block.shape[1] != self.channels:
            raise ValueError("all blocks need the same number of channels")
        self.frames += block.shape[0]
        if self.carry is not None and self.carry.shape[0]:
            block = np.concatenate([self.carry, block])
        full = block.shape[0] // spp * spp
        if full:
            self.parts.append(_bucket_minmax(block[:full].reshape(-1, spp, self.channels)))
        self.carry = block[full:].copy()

    def finish(self) -> PeakSet:
        if self.channels is None:
            raise ValueError("no audio")
        if self.carry is not None and self.carry.shape[0]:
            self.parts.append(_bucket_minmax(self.carry[None]))
            self.carry = None
        finest = np.concatenate(self.parts) if self.parts else np.zeros((0, self.channels, 2), np.int16)
        if self.bits == 8:
            # audiowaveform's 16 -> 8 bit conversion keeps the high byte.
            finest = (finest >> 8).astype(np.int8)
        return PeakSet(
            self.rate,
            self.channels,
            self.frames,
            self.bits,
            _levels_from_finest(finest, self.rate, self.bits, self.spps),
        )


def compute_peaks(
    source: Any,
    *,
    samples_per_pixel: Sequence[int] = DEFAULT_SAMPLES_PER_PIXEL,
    bits: int = 16,
    block_frames: int = 1 << 18,
    sample_rate: int | None = None,
) -> PeakSet:
    """Peaks at every ``samples_per_pixel`` from one pass over ``source``.

    ``source`` is a path/file-like (read as int16 blocks at its native rate,
    all channels) or an iterable of (n,) / (C, n) blocks with ``sample_rate``;
    float blocks are scaled by 32767 and rounded, as libsndfile does. Every
    level must be a multiple of the finest; coarser levels are derived from it.
    The last bucket of each level covers the leftover samples.
    """
    if is_audio_source(source):
        with _open(source) as f:
            stream = PeaksStream(int(f.samplerate), samples_per_pixel=samples_per_pixel, bits=bits)
            size = _round_up(block_frames, stream.spps[0])
            for b in f.blocks(blocksize=size, dtype="int16", always_2d=True):
                stream.push_frames(b)
        return stream.finish()
    if sample_rate is None:
        raise ValueError("sample_rate is required when source is an iterable of blocks")
    stream = PeaksStream(int(sample_rate), samples_per_pixel=samples_per_pixel, bits=bits)
    for b in source:
        stream.push(b)
    return stream.finish()


def _round_up(n: int, k: int) -> int:
    return max(k, -(-n // k) * k)


def _as_int16_frames(block: np.ndarray) -> np.ndarray:
    """(n,) / (C, n) samples -> (n, C) int16."""
    b = np.asarray(block)
    b = b[None, :] if b.ndim == 1 else b
    if b.ndim != 2:
        raise ValueError("blocks must be (n,) or (channels, n)")
    if b.dtype != np.int16:
        if not np.issubdtype(b.dtype, np.floating):
            raise ValueError("blocks must be float in [-1, 1] or int16")
        b = np.clip(np.rint(b * 32767.0), -32768, 32767).astype(np.int16)
    return b.T


def _bucket_minmax(x: np.ndarray) -> np.ndarray:
    """(L, spp, C) -> (L, C, 2)."""
    out = np.empty((x.shape[0], x.shape[2], 2), dtype=x.dtype)
    if x.shape[2] == 1:
        # Contiguous (L, spp) rows reduce ~3x faster than a strided middle axis.
        flat = x[..., 0]
        np.min(flat, axis=1, out=out[:, 0, 0])
        np.max(flat, axis=1, out=out[:, 0, 1])
    else:
        np.min(x, axis=1, out=out[..., 0])
        np.max(x, axis=1, out=out[..., 1])
    return out


def _levels_from_finest(finest: np.ndarray, rate: int, bits: int, spps: Sequence[int]) -> tuple[Peaks, ...]:
    """Coarser buckets are unions of whole finest buckets, so min-of-mins/max-of-maxes is exact."""
    levels = [Peaks(rate, spps[0], bits, finest)]
    for spp in spps[1:]:
        if finest.shape[0] == 0:
            levels.append(Peaks(rate, spp, bits, finest.copy()))
            continue
        starts = np.arange(0, finest.shape[0], spp // spps[0])
        data = np.empty((starts.size,) + finest.shape[1:], dtype=finest.dtype)
        data[..., 0] = np.minimum.reduceat(finest[..., 0], starts, axis=0)
        data[..., 1] = np.maximum.reduceat(finest[..., 1], starts, axis=0)
        levels.append(Peaks(rate, spp, bits, data))
    return tuple(levels)


def _delta_encode(data: np.ndarray) -> bytes:
    """(L, C, 2) ints -> per-stream first differences (wrapping), high bytes then low bytes.

    Neighbouring buckets are close, so differences are small; splitting the
    byte planes puts the mostly-zero high bytes together, which zlib packs
    far better than interleaved int16 (measured ~1.6x smaller).
    """
    streams = np.ascontiguousarray(np.transpose(data, (1, 2, 0)))  # (C, 2, L)
    diff = np.diff(streams, axis=-1, prepend=np.zeros(streams.shape[:-1] + (1,), streams.dtype))
    if diff.dtype == np.int8:
        return diff.tobytes()
    planes = diff.astype("<i2").view(np.uint8).reshape(diff.shape + (2,))
    return planes[..., 1].tobytes() + planes[..., 0].tobytes()


def _delta_decode(raw: bytes, length: int, channels: int, dtype: Any) -> np.ndarray:
    shape = (channels, 2, length)
    if np.dtype(dtype) == np.int8:
        diff = np.frombuffer(raw, np.int8).reshape(shape)
    else:
        half = len(raw) // 2
        planes = np.empty(shape + (2,), np.uint8)
        planes[..., 1] = np.frombuffer(raw, np.uint8, count=half).reshape(shape)
        planes[..., 0] = np.frombuffer(raw, np.uint8, offset=half).reshape(shape)
        diff = planes.view("<i2")[..., 0].astype(np.int16)
    streams = np.cumsum(diff, axis=-1, dtype=diff.dtype)  # wraps back exactly
    return np.ascontiguousarray(np.transpose(streams, (2, 0, 1)))
