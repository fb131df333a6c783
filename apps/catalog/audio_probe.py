"""Recognise and fully decode an audio file before anything is stored.

No Django here: bytes in, a small dataclass or a ProbeError with a sentence out.
The extension is never trusted; the first bytes decide the container.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import dataclass

import soundfile as sf

MIN_RATE, MAX_RATE = 8000, 192000
_BLOCK = 1 << 16


class ProbeError(Exception):
    """The bytes are not audio Earmark accepts; the message says why."""


@dataclass(frozen=True)
class AudioProbe:
    container: str
    codec: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def sniff(head: bytes) -> str | None:
    """The container named by the magic bytes, or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:80] else "ogg"
    if len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "m4a"
    return None


_NOT_AUDIO = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"<", "HTML or XML text"),
    (b"{", "JSON text"),
]


def describe_non_audio(head: bytes) -> str:
    """A few words for what unrecognised bytes look like."""
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return what
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unrecognised binary data"


def _check_riff(f, size: int) -> None:
    """WAV: the data chunk must be as long as its header says (libsndfile silently clamps)."""
    f.seek(0)
    header = f.read(12)
    if header[:4] != b"RIFF":
        return  # RF64/BW64 carry 64-bit sizes in ds64; libsndfile checks those
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"data":
            available = size - pos - 8
            if chunk_size > available:
                raise ProbeError(
                    f"the WAV data is shorter than its header says ({available:,} of {chunk_size:,} bytes): "
                    "the file is truncated"
                )
            return
        pos += 8 + chunk_size + (chunk_size & 1)
    raise ProbeError("the WAV file has no audio data chunk (truncated header)")


def _probe_ffmpeg(path_or_none, container: str) -> AudioProbe:
    """Codecs libsndfile lacks (AAC in MP4/M4A), read with ffprobe when it is installed."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-count_packets", "-show_entries",
         "stream=codec_name,sample_rate,channels,duration_ts,time_base,duration", "-of", "json", path_or_none],
        capture_output=True, text=True, timeout=120,
    )
    streams = json.loads(out.stdout or "{}").get("streams") or []
    if out.returncode or not streams:
        raise ProbeError(f"ffmpeg could not decode this {container.upper()} file")
    s = streams[0]
    rate = int(s["sample_rate"])
    frames = int(round(float(s.get("duration") or 0) * rate))
    return AudioProbe(container, s.get("codec_name", ""), rate, int(s["channels"]), frames)


def probe(f, *, size: int, head: bytes, max_duration: float, path: str | None = None) -> AudioProbe:
    """Sniff and fully decode ``f`` (seekable binary). Raises ProbeError naming the problem."""
    if size == 0:
        raise ProbeError("the file is empty (0 bytes)")
    container = sniff(head)
    if container is None:
        raise ProbeError(f"this is not an audio file Earmark accepts: it looks like {describe_non_audio(head)}")
    if container == "m4a":
        if shutil.which("ffprobe") and path:
            return _check_limits(_probe_ffmpeg(path, container), max_duration)
        raise ProbeError(
            "this is an MP4/M4A file (usually AAC audio), which libsndfile cannot decode and ffmpeg "
            "is not installed on this server; convert it to FLAC or WAV"
        )
    if container == "wav":
        _check_riff(f, size)
    f.seek(0)
    try:
        snd = sf.SoundFile(f)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ProbeError(f"the {container.upper()} file could not be decoded ({_short(exc)}); it may be truncated or corrupt") from None
    with snd:
        info = AudioProbe(container, snd.subtype or "", snd.samplerate, snd.channels, snd.frames)
        _check_limits(info, max_duration)
        decoded = 0
        try:
            while True:
                block = snd.read(_BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                decoded += len(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise ProbeError(f"decoding failed after {decoded:,} frames ({_short(exc)}): the file is corrupt or truncated") from None
    if decoded == 0:
        raise ProbeError(f"the {container.upper()} file holds no audio frames")
    # Lossless containers state their length exactly; compressed ones only estimate it.
    if container in ("wav", "flac", "aiff") and decoded != info.frames:
        raise ProbeError(f"only {decoded:,} of the {info.frames:,} frames the header announces could be decoded: "
                         "the file is truncated")
    return AudioProbe(container, info.codec, info.sample_rate, info.channels, decoded)


def _check_limits(info: AudioProbe, max_duration: float) -> AudioProbe:
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise ProbeError(f"the sample rate {info.sample_rate:,} Hz is outside the accepted 8–192 kHz")
    if info.channels < 1:
        raise ProbeError("the file declares no audio channels")
    if info.frames and info.frames / info.sample_rate > max_duration:
        raise ProbeError(
            f"the recording lasts {info.frames / info.sample_rate:,.0f} s, over the limit of {max_duration:,.0f} s"
        )
    return info


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
