"""Recognise and decode an audio file before anything is stored (uncompressed WAV: its header and length).

No Django here: bytes in, a small dataclass or a ProbeError with a sentence out.
The extension is never trusted; the first bytes decide the container.

Names follow one vocabulary (docs/processing.md, "Containers and codecs"): ``container`` is the file
format (wav, flac, ogg, aiff, mp3, mp4, adts) and ``codec`` the encoding inside it, spelled as ffprobe
spells it (pcm_s16le, flac, vorbis, opus, mp3, aac, ...), so a recording's metadata reads the same
whichever decoder probed it. Messages say what is wrong in words; library error strings are logged,
never shown.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import subprocess
from dataclasses import dataclass

import soundfile as sf

log = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 8000, 192000
OPUS_DECODE_RATE = 48000  # RFC 7845: an Ogg Opus stream always decodes at 48 kHz
_BLOCK = 1 << 16
FFMPEG_CONTAINERS = ("mp4", "adts")  # AAC/ALAC: libsndfile cannot read them, ffmpeg can

# libsndfile subtype -> ffprobe codec name, per container (AIFF stores big-endian PCM).
_PCM = {
    "PCM_S8": "pcm_s8",
    "PCM_U8": "pcm_u8",
    "PCM_16": "pcm_s16",
    "PCM_24": "pcm_s24",
    "PCM_32": "pcm_s32",
    "FLOAT": "pcm_f32",
    "DOUBLE": "pcm_f64",
}
_OTHER = {
    "ULAW": "pcm_mulaw",
    "ALAW": "pcm_alaw",
    "IMA_ADPCM": "adpcm_ima_wav",
    "MS_ADPCM": "adpcm_ms",
    "GSM610": "gsm_ms",
    "VORBIS": "vorbis",
    "OPUS": "opus",
    "MPEG_LAYER_I": "mp1",
    "MPEG_LAYER_II": "mp2",
    "MPEG_LAYER_III": "mp3",
    "ALAC_16": "alac",
    "ALAC_20": "alac",
    "ALAC_24": "alac",
    "ALAC_32": "alac",
}
# Storage extension of an original, by container (and codec for Ogg).
_EXT = {"wav": "wav", "flac": "flac", "aiff": "aiff", "mp3": "mp3", "mp4": "m4a", "adts": "aac"}


class ProbeError(Exception):
    """The bytes are not audio Earmark accepts; the message says why."""


@dataclass(frozen=True)
class AudioProbe:
    container: str
    codec: str
    sample_rate: int  # the rate a decoder delivers (Opus: always 48000)
    channels: int
    frames: int  # at sample_rate
    input_sample_rate: int | None = None  # the rate the encoder was given, where the stream records it (Opus)

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def original_extension(container: str, codec: str = "") -> str:
    """The file extension an original of this container/codec is stored under."""
    if container == "ogg":
        return "opus" if codec == "opus" else "ogg"
    return _EXT.get(container, container or "bin")


def codec_name(container: str, subtype: str, *, little_endian: bool = True) -> str:
    """ffprobe's name for a libsndfile subtype in ``container``."""
    subtype = (subtype or "").upper()
    if container == "flac":
        return "flac"
    if subtype in _PCM:
        base = _PCM[subtype]
        return base if subtype in ("PCM_S8", "PCM_U8") else base + ("le" if little_endian else "be")
    return _OTHER.get(subtype, subtype.lower())


def is_adts(head: bytes) -> bool:
    """An ADTS frame header: 12-bit sync 0xFFF and layer 00 (FF F1 / FF F9 ...); MPEG audio has layer != 00."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0


def sniff(head: bytes) -> str | None:
    """The container named by the magic bytes, or None."""
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if is_adts(head):
        return "adts"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    return None


def opus_input_rate(head: bytes) -> int | None:
    """The input sample rate an OpusHead packet records (0 means unspecified), or None."""
    at = head.find(b"OpusHead")
    if at < 0 or len(head) < at + 16:
        return None
    rate = struct.unpack_from("<I", head, at + 12)[0]
    return rate or None


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

_LABEL = {
    "wav": "WAV",
    "flac": "FLAC",
    "ogg": "Ogg",
    "aiff": "AIFF",
    "mp3": "MP3",
    "mp4": "MP4/M4A",
    "adts": "AAC (ADTS)",
}


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


def _seconds(frames: float, rate: int) -> str:
    s = frames / rate
    return f"{s:.1f} s" if s >= 1 else f"{s:.2f} s"


def _check_format_fields(rate: int, channels: int, label: str) -> None:
    if rate <= 0:
        raise ProbeError(f"the {label} header is damaged: the sample rate is {rate}")
    if channels <= 0:
        raise ProbeError(f"the {label} header is damaged: it declares {channels} audio channels")


def _check_riff(f, size: int) -> AudioProbe | None:
    """WAV: sane format fields, and a data chunk as long as its header says (libsndfile silently clamps).

    For plain uncompressed samples (PCM, float, A-law, µ-law) with the whole data chunk present, the facts a
    decode would give; None when libsndfile must read the file (RF64/BW64, compressed or unusual encodings).
    """
    f.seek(0)
    header = f.read(12)
    if header[:4] != b"RIFF":
        return None  # RF64/BW64 carry 64-bit sizes in ds64; libsndfile checks those
    pos, fmt, sub = 12, None, None
    while pos + 8 <= size:
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"fmt " and chunk_size >= 16:
            raw = f.read(min(chunk_size, 40))
            if len(raw) < 16:
                raise ProbeError("the WAV file is truncated: it ends inside its format header")
            fmt = struct.unpack("<HHIIHH", raw[:16])
            _check_format_fields(fmt[2], fmt[1], "WAV")
            if len(raw) == 40 and raw[26:40] == _KSDATAFORMAT_TAIL:  # WAVE_FORMAT_EXTENSIBLE's sub-format
                sub = struct.unpack_from("<H", raw, 24)[0]
        if chunk_id == b"data":
            if fmt is None:
                raise ProbeError("the WAV file has no format chunk before its audio data")
            available = size - pos - 8
            if chunk_size > available:
                block_align, rate = fmt[4] or 1, fmt[2]
                raise ProbeError(
                    f"the WAV file is truncated: the header says "
                    f"{_seconds(chunk_size // block_align, rate)} but the data stops at "
                    f"{_seconds(available // block_align, rate)}"
                )
            return _plain_wav(fmt, sub, chunk_size)
        pos += 8 + chunk_size + (chunk_size & 1)
    raise ProbeError("the WAV file is truncated: it ends before its audio data begins")


# WAV format tags (and, for WAVE_FORMAT_EXTENSIBLE, sub-format GUIDs ending in this tail) whose every byte
# pattern is a sample: (tag, bits per sample) -> ffprobe's codec name.
_KSDATAFORMAT_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_PLAIN_WAV = {
    (1, 8): "pcm_u8",
    (1, 16): "pcm_s16le",
    (1, 24): "pcm_s24le",
    (1, 32): "pcm_s32le",
    (3, 32): "pcm_f32le",
    (3, 64): "pcm_f64le",
    (6, 8): "pcm_alaw",
    (7, 8): "pcm_mulaw",
}


def _plain_wav(fmt: tuple, sub: int | None, data_bytes: int) -> AudioProbe | None:
    """A complete data chunk of plain samples decodes to exactly data_bytes / block_align frames, so no decode
    is needed to know it (issue 21: libsndfile's open alone cost more than the rest of the probe; measured).
    Anything unusual (odd alignment, very many channels) goes to libsndfile, which knows it best."""
    tag, channels, rate, _, block_align, bits = fmt
    codec = _PLAIN_WAV.get((sub if tag == 0xFFFE else tag, bits))
    if codec is None or not 1 <= channels <= 255 or block_align != channels * bits // 8:
        return None
    return AudioProbe("wav", codec, rate, channels, data_bytes // block_align)


def _run(cmd: list[str], *, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"decoding took too long (over {timeout:.0f} s); the file may be damaged") from None


def _probe_ffmpeg(path: str, container: str, max_duration: float) -> AudioProbe:
    """Codecs libsndfile lacks (AAC/ALAC in MP4, raw ADTS AAC): ffprobe names the stream, ffmpeg decodes it all."""
    label = _LABEL[container]
    out = _run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,sample_rate,channels,duration:format=duration",
            "-of",
            "json",
            path,
        ],
        timeout=120,
    )
    try:
        data = json.loads(out.stdout or b"{}")
    except ValueError:
        data = {}
    streams = data.get("streams") or []
    if out.returncode or not streams:
        log.info("ffprobe refused %s: %s", container, out.stderr[-300:])
        if out.returncode:
            raise ProbeError(f"the {label} file could not be read: its structure is damaged or it is truncated")
        raise ProbeError(f"the {label} file holds no audio stream")
    s = streams[0]
    rate, channels = int(s.get("sample_rate") or 0), int(s.get("channels") or 0)
    _check_format_fields(rate, channels, label)
    declared = float(s.get("duration") or (data.get("format") or {}).get("duration") or 0)
    info = AudioProbe(container, s.get("codec_name") or "", rate, channels, int(round(declared * rate)))
    if container == "mp4":  # ADTS has no header duration; ffprobe only guesses it from the bitrate
        _check_limits(info, max_duration)
    # Decode everything (mono, 16-bit, to a pipe) and count the frames: the length is what decodes.
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    decoded = 0
    try:
        while chunk := proc.stdout.read(1 << 20):
            decoded += len(chunk) // 2
            if decoded > max_duration * rate + rate:
                proc.kill()
                break
        err = proc.stderr.read()
    finally:
        proc.wait()
    frames = decoded
    info = AudioProbe(container, info.codec, rate, channels, frames)
    _check_limits(info, max_duration)
    if frames == 0:
        raise ProbeError(f"the {label} file holds no audio that decodes")
    if err.strip():
        log.info("ffmpeg decode of %s: %s", container, err[-300:])
    if container == "mp4" and declared and frames < declared * rate * 0.98 - rate * 0.1:
        raise ProbeError(
            f"the {label} file is truncated: the header says {declared:.1f} s but the data stops at "
            f"{_seconds(frames, rate)}"
        )
    if proc.returncode:
        raise ProbeError(f"decoding failed after {_seconds(frames, rate)}: the {label} file is damaged")
    return info


def probe(f, *, size: int, head: bytes, max_duration: float, path: str | None = None) -> AudioProbe:
    """Sniff and fully decode ``f`` (seekable binary). Raises ProbeError naming the problem.

    Uncompressed RIFF WAV is checked, not decoded: format fields, and a data chunk as long as its header says.

    ``path`` (a real file path with the same bytes) is needed for the containers ffmpeg decodes.
    """
    if size == 0:
        raise ProbeError("the file is empty (0 bytes)")
    container = sniff(head)
    if container is None:
        raise ProbeError(f"this is not an audio file Earmark accepts: it looks like {describe_non_audio(head)}")
    label = _LABEL[container]
    if container in FFMPEG_CONTAINERS:
        if not (shutil.which("ffprobe") and shutil.which("ffmpeg")):
            raise ProbeError(
                f"this is an {label} file (AAC audio), which only ffmpeg decodes, and ffmpeg is not "
                "installed on this server; convert it to FLAC or WAV"
            )
        if not path:
            raise ValueError("probe() needs a file path for containers that ffmpeg decodes")
        return _probe_ffmpeg(path, container, max_duration)
    if container == "wav" and (plain := _check_riff(f, size)) is not None:
        _check_limits(plain, max_duration)
        if not plain.frames:
            raise ProbeError("the WAV file holds no audio frames")
        return plain
    f.seek(0)
    try:
        snd = sf.SoundFile(f)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        log.info("libsndfile refused a %s file: %s", container, exc)
        raise ProbeError(_open_failure(container, f, size)) from None
    with snd:
        codec = codec_name(container, snd.subtype, little_endian=_little_endian(container, head))
        rate, input_rate = snd.samplerate, None
        if codec == "opus":
            input_rate = opus_input_rate(head)
        _check_format_fields(rate, snd.channels, label)
        info = AudioProbe(container, codec, rate, snd.channels, snd.frames)
        _check_limits(info, max_duration)
        decoded = 0
        try:
            while True:
                block = snd.read(_BLOCK, dtype="float32", always_2d=True)
                if not len(block):
                    break
                decoded += len(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            log.info("libsndfile decode of %s failed: %s", container, exc)
            if container in ("wav", "flac", "aiff") and info.frames > decoded:
                raise ProbeError(
                    f"the {label} file is truncated or damaged: the header says "
                    f"{_seconds(info.frames, rate)} but the data stops at {_seconds(decoded, rate)}"
                ) from None
            raise ProbeError(
                f"decoding failed after {_seconds(decoded, rate)}: the {label} file is damaged or truncated"
            ) from None
    if decoded == 0:
        raise ProbeError(f"the {label} file holds no audio frames")
    # Lossless containers state their length exactly; compressed ones only estimate it.
    if container in ("wav", "flac", "aiff") and decoded != info.frames:
        raise ProbeError(
            f"the {label} file is truncated: the header says {_seconds(info.frames, rate)} but the "
            f"data stops at {_seconds(decoded, rate)}"
        )
    if codec == "opus" and rate != OPUS_DECODE_RATE:
        # libsndfile decodes Opus at the input rate; the stream's own rate (what ffmpeg and players give) is 48 kHz.
        return AudioProbe(
            container,
            codec,
            OPUS_DECODE_RATE,
            info.channels,
            int(round(decoded * OPUS_DECODE_RATE / rate)),
            input_rate or rate,
        )
    return AudioProbe(container, codec, rate, info.channels, decoded, input_rate)


def _little_endian(container: str, head: bytes) -> bool:
    if container != "aiff":
        return True
    return b"sowt" in head[:128]  # AIFF-C with little-endian ("sowt") samples


def _open_failure(container: str, f, size: int) -> str:
    """Why libsndfile could not open the file, in words (checked by us, not read from its message)."""
    label = _LABEL[container]
    if container == "flac":
        f.seek(0)
        head = f.read(42)
        if len(head) >= 42 and head[4] & 0x7F == 0:  # STREAMINFO
            rate = (head[18] << 12) | (head[19] << 4) | (head[20] >> 4)
            channels = ((head[20] >> 1) & 0x07) + 1
            _check_format_fields(rate, channels, label)
        if len(head) < 42:
            return "the FLAC file is truncated: it ends inside its header"
    if container == "aiff":
        f.seek(0)
        data = f.read(min(size, 4096))
        at = data.find(b"COMM")
        if at >= 0 and len(data) >= at + 26:
            channels = struct.unpack_from(">h", data, at + 8)[0]
            rate = _ieee_extended(data[at + 16 : at + 26])
            _check_format_fields(int(rate), channels, label)
        elif at < 0:
            return "the AIFF file is truncated or damaged: it has no format (COMM) chunk"
    if container == "ogg":
        return (
            "the Ogg file could not be decoded: it holds no Vorbis, Opus or FLAC stream that decodes, or it is damaged"
        )
    if size < 512:
        return f"the {label} file is truncated: it ends inside its header ({size} bytes)"
    return f"the {label} file could not be decoded: its header is damaged or the file is truncated"


def _ieee_extended(b: bytes) -> float:
    """AIFF's 80-bit IEEE extended float (the COMM sample rate)."""
    if len(b) < 10:
        return 0.0
    exp = ((b[0] & 0x7F) << 8) | b[1]
    mant = int.from_bytes(b[2:10], "big")
    if exp == 0 and mant == 0:
        return 0.0
    return mant * 2.0 ** (exp - 16383 - 63)


def _check_limits(info: AudioProbe, max_duration: float) -> AudioProbe:
    rate = info.input_sample_rate or info.sample_rate
    if not MIN_RATE <= info.sample_rate <= MAX_RATE or not MIN_RATE <= rate <= MAX_RATE:
        raise ProbeError(f"the sample rate {rate:,} Hz is outside the accepted 8–192 kHz")
    if info.channels < 1:
        raise ProbeError("the file declares no audio channels")
    if info.frames and info.frames / info.sample_rate > max_duration:
        raise ProbeError(
            f"the recording lasts {info.frames / info.sample_rate:,.0f} s, over the limit of {max_duration:,.0f} s"
        )
    return info
