"""Cut, resample and encode one example's audio from storage, in bounded memory.

The source (original upload, or the processed audio artifact of the project's
active recipe) is read block by block with soundfile, resampled with a soxr
stream when the release asks for another rate, and encoded with fixed settings
(16-bit PCM in FLAC or WAV) into a spooled temporary file, so a rebuild gives
the same bytes. Only one example is held at a time. A source that already is what
the release wants (a whole 16-bit FLAC at the wanted rate) skips all that:
`flac_open_copy` streams it from storage into the release (metadata dropped). The
writers hash the bytes as they write them, so each byte is read, hashed and written once.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from apps.catalog.flac import flac_header_in, flac_header_without_metadata, flac_streaminfo_fields
from apps.core.errors import DomainError
from apps.datasets.formats.base import bytes_left
from apps.datasets.services.storage import storage_open_read
from apps.processing.models import Artifact, ProjectProcessing
from apps.processing.services.plan import PROCESSED_AUDIO_KIND

BLOCK_FRAMES = 1 << 16
SPOOL_BYTES = 16 << 20


@dataclass
class EncodedAudio:
    file: tempfile.SpooledTemporaryFile
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


class SourceKeys:
    """Storage keys of the audio a build's examples are cut from: the original, or the processed audio of
    the project's active recipe (its artifacts looked up once per chunk of recordings, not per example)."""

    def __init__(self, *, project_id: int, spec: dict) -> None:
        self.spec, self.recipe_hash = spec, None
        self._arts: dict[str, Artifact] = {}
        if spec["audio"]["source"] != "original":
            pp = ProjectProcessing.objects.filter(project_id=project_id).select_related("active_recipe").first()
            self.recipe_hash = pp.active_recipe.spec_hash if pp is not None else None

    def prefetch(self, recordings) -> None:
        """Look up the processed audio of these recordings (those about to be read)."""
        if self.recipe_hash is None:
            return
        arts = Artifact.objects.filter(
            source_sha256__in=sorted({r.sha256 for r in recordings}),
            recipe_hash=self.recipe_hash,
            kind=PROCESSED_AUDIO_KIND,
        )
        self._arts = {a.source_sha256: a for a in arts}

    def key_for(self, recording) -> str:
        if self.spec["audio"]["source"] == "original":
            return recording.original_key
        art = self._arts.get(recording.sha256)
        if art is None:
            raise DomainError(f"Recording {recording.id} has no processed audio for the project's active recipe yet.")
        if self.spec["unit"] == "region" and ("trim" in art.meta or "windows" in art.meta):
            raise DomainError(
                f"The active recipe trims or cuts recording {recording.id}, so region times no longer "
                "match its processed audio; build region releases from the original audio."
            )
        return art.key


def flac_copy_without_metadata(src, out) -> None:
    """Copy a FLAC stream keeping only STREAMINFO before the untouched audio frames."""
    header, _ = flac_header_without_metadata(src)
    out.write(header)
    while chunk := src.read(1 << 20):
        out.write(chunk)


class CopiedFlac:
    """A whole 16-bit FLAC source streamed straight from storage, metadata dropped: a readable file.

    The writer reads it once while copying it into the release (and hashes what it writes); ``close``
    closes the source.
    """

    def __init__(self, fh, header: bytes, num_samples: int, sample_rate: int, channels: int) -> None:
        self._fh, self._pending = fh, header
        self.num_samples, self.sample_rate, self.channels = num_samples, sample_rate, channels
        self.sha256: str | None = None  # of ``whole``, when the read-ahead hashed it (build._open_ahead)

    @property
    def whole(self) -> bytes | None:
        """All of the release audio, when it is in memory (the source read to its end) and none was read yet."""
        return self._pending if self._fh.closed else None

    def read_ahead(self, n: int) -> None:
        """Read up to ``n`` more bytes now (on a read-ahead thread); ``read`` hands them out first. A source
        read to its end is closed here, so the thread that writes it makes no more system calls for it."""
        if self._fh.closed:  # already all in memory (flac_open_copy of a small local file)
            return
        left = bytes_left(self._fh)
        # The exact size of a short local file: a read of n + 1 bytes allocates that much first (1 MiB: a fresh
        # mmap, fault and munmap per clip, as glibc's threshold is 128 kB), then shrinks it to the clip.
        data = self._fh.read(n + 1 if left is None else min(n + 1, left))
        self._pending += data
        if len(data) <= n:
            self._fh.close()

    def read(self, n: int = -1) -> bytes:
        if self._pending:  # the header and the first frames in one read: a short clip arrives whole
            data, self._pending = self._pending, b""
            more = -1 if n < 0 else max(0, n - len(data))
            return data + self._fh.read(more) if more and not self._fh.closed else data
        return b"" if self._fh.closed else self._fh.read(n)

    def close(self) -> None:
        self._fh.close()


def flac_open_copy(
    *,
    key: str,
    start: float,
    end: float | None,
    sample_rate: int | None,
    audio_format: str,
    whole_below: int = 0,
    local_root: str | None = None,
) -> CopiedFlac | None:
    """A `CopiedFlac` when the stored audio already is what the release wants (a whole 16-bit FLAC at the
    wanted rate, its length known), else None (then `audio_encode` transcodes). A local source of at most
    ``whole_below`` bytes is read whole at once (`storage_open_read`, as is ``local_root``)."""
    if audio_format != "flac" or start != 0.0 or end is not None:
        return None
    fh = storage_open_read(key, whole_below=whole_below, local_root=local_root)
    try:
        if isinstance(fh, io.BytesIO):  # read whole: the header parsed in place, header and frames joined once
            data = fh.getvalue()
            header, info, first_frame = flac_header_in(data)
            fh.close()
            header += data[first_frame:]
        else:
            header, info = flac_header_without_metadata(fh)
        rate, channels, bits, total = flac_streaminfo_fields(info)
        if bits == 16 and total and rate == (sample_rate or rate):
            return CopiedFlac(fh, header, total, rate, channels)
    except ValueError:
        pass
    fh.close()
    return None


def _transcode(src, out, *, first: int, last: int, rate: int, audio_format: str) -> int:
    in_rate, channels = src.samplerate, src.channels
    resampler = soxr.ResampleStream(in_rate, rate, channels, dtype="float32", quality="HQ") if rate != in_rate else None
    dtype = "int16" if resampler is None else "float32"
    written = 0
    with sf.SoundFile(
        out, "w", samplerate=rate, channels=channels, format=audio_format.upper(), subtype="PCM_16"
    ) as dst:
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


def audio_encode(
    *, key: str, start: float, end: float | None, sample_rate: int | None, audio_format: str
) -> EncodedAudio:
    """Read [start, end) seconds of the stored audio at ``key`` and encode it; see the module docstring.

    A whole 16-bit FLAC source already at the wanted rate is copied frame for frame (metadata
    dropped) instead of decoded and encoded again: the same samples, several times faster.
    """
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with storage_open_read(key) as fh:
        with sf.SoundFile(fh) as src:
            in_rate, channels, frames = src.samplerate, src.channels, src.frames
            rate = sample_rate or in_rate
            first = min(frames, int(round(start * in_rate)))
            last = frames if end is None else min(frames, int(round(end * in_rate)))
            copy = (
                audio_format == "flac"
                and src.format == "FLAC"
                and src.subtype == "PCM_16"
                and rate == in_rate
                and first == 0
                and last == frames
            )
            if not copy:
                written = _transcode(src, out, first=first, last=last, rate=rate, audio_format=audio_format)
        if copy:
            fh.seek(0)
            flac_copy_without_metadata(fh, out)
            written = frames
    out.seek(0)
    return EncodedAudio(out, rate, written, channels)
