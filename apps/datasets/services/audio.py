"""Cut, resample and encode one example's audio from storage, in bounded memory.

The source (original upload, or the processed audio artifact of the project's
active recipe) is read block by block with soundfile, resampled with a soxr
stream when the release asks for another rate, and encoded with fixed settings
(16-bit PCM in FLAC or WAV) into a spooled temporary file, so a rebuild gives
the same bytes. Only one example is held at a time.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr
from django.core.files.storage import default_storage

from apps.accounts.errors import DomainError

BLOCK_FRAMES = 1 << 16
SPOOL_BYTES = 16 << 20


@dataclass
class EncodedAudio:
    file: tempfile.SpooledTemporaryFile
    sha256: str
    size: int
    sample_rate: int
    num_samples: int
    channels: int

    def reader(self):
        """A fresh read handle on the encoded bytes (the writers close it after use)."""
        self.file.seek(0)
        return _Unclosable(self.file)

    def close(self) -> None:
        self.file.close()


class _Unclosable:
    def __init__(self, f):
        self._f = f

    def read(self, n=-1):
        return self._f.read(n)

    def close(self):
        pass


def source_key_for(recording, spec: dict) -> str:
    """Storage key of the audio an example is cut from."""
    if spec["audio"]["source"] == "original":
        return recording.original_key
    from apps.processing.models import Artifact, ProjectProcessing
    from apps.processing.services.plan import PROCESSED_AUDIO_KIND

    pp = ProjectProcessing.objects.filter(project_id=recording.project_id).select_related("active_recipe").first()
    art = None
    if pp is not None:
        art = Artifact.objects.filter(source_sha256=recording.sha256, recipe_hash=pp.active_recipe.spec_hash,
                                      kind=PROCESSED_AUDIO_KIND).first()  # fmt: skip
    if art is None:
        raise DomainError(f"Recording {recording.id} has no processed audio for the project's active recipe yet.")
    if spec["unit"] == "region" and ("trim" in art.meta or "windows" in art.meta):
        raise DomainError(f"The active recipe trims or cuts recording {recording.id}, so region times no longer "
                          "match its processed audio; build region releases from the original audio.")  # fmt: skip
    return art.key


def flac_copy_without_metadata(src, out) -> None:
    """Copy a FLAC stream keeping only STREAMINFO before the audio frames.

    Drops tags, pictures, cue sheets and the like (they may carry personal data and
    would make equal audio differ in bytes); the frames are copied untouched, so the
    decoded samples and STREAMINFO's MD5 stay valid.
    """
    if src.read(4) != b"fLaC":
        raise ValueError("not a FLAC stream")
    streaminfo, last = None, False
    while not last:
        header = src.read(4)
        if len(header) != 4:
            raise ValueError("truncated FLAC metadata")
        last, kind, length = bool(header[0] & 0x80), header[0] & 0x7F, int.from_bytes(header[1:], "big")
        block = src.read(length)
        if len(block) != length:
            raise ValueError("truncated FLAC metadata")
        if kind == 0:
            streaminfo = block
    if streaminfo is None or len(streaminfo) != 34:
        raise ValueError("FLAC stream without STREAMINFO")
    out.write(b"fLaC" + bytes([0x80]) + (34).to_bytes(3, "big") + streaminfo)
    while chunk := src.read(1 << 20):
        out.write(chunk)


def _transcode(src, out, *, first: int, last: int, rate: int, audio_format: str) -> int:
    in_rate, channels = src.samplerate, src.channels
    resampler = soxr.ResampleStream(in_rate, rate, channels, dtype="float32", quality="HQ") if rate != in_rate else None
    dtype = "int16" if resampler is None else "float32"
    written = 0
    with sf.SoundFile(out, "w", samplerate=rate, channels=channels, format=audio_format.upper(),
                      subtype="PCM_16") as dst:  # fmt: skip
        src.seek(first)
        remaining = last - first
        while remaining > 0:
            block = src.read(min(BLOCK_FRAMES, remaining), dtype=dtype, always_2d=True)
            if not len(block):
                break
            remaining -= len(block)
            if resampler is not None:
                block = resampler.resample_chunk(block, last=remaining <= 0)
            if len(block):
                dst.write(block)
                written += len(block)
        if resampler is not None and remaining > 0:  # source shorter than its header said
            tail = resampler.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True)
            if len(tail):
                dst.write(tail)
                written += len(tail)
    return written


def audio_encode(*, key: str, start: float, end: float | None, sample_rate: int | None, audio_format: str) -> EncodedAudio:
    """Read [start, end) seconds of the stored audio at ``key`` and encode it; see the module docstring.

    A whole 16-bit FLAC source already at the wanted rate is copied frame for frame (metadata
    dropped) instead of decoded and encoded again: the same samples, several times faster.
    """
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with default_storage.open(key, "rb") as fh:
        with sf.SoundFile(fh) as src:
            in_rate, channels, frames = src.samplerate, src.channels, src.frames
            rate = sample_rate or in_rate
            first = min(frames, int(round(start * in_rate)))
            last = frames if end is None else min(frames, int(round(end * in_rate)))
            copy = (audio_format == "flac" and src.format == "FLAC" and src.subtype == "PCM_16" and rate == in_rate
                    and first == 0 and last == frames)  # fmt: skip
            if not copy:
                written = _transcode(src, out, first=first, last=last, rate=rate, audio_format=audio_format)
        if copy:
            fh.seek(0)
            flac_copy_without_metadata(fh, out)
            written = frames
    out.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := out.read(1 << 20):
        sha.update(chunk)
        size += len(chunk)
    out.seek(0)
    return EncodedAudio(out, sha.hexdigest(), size, rate, written, channels)
