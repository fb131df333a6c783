"""A format corpus written by the real tools (ffmpeg, sox, espeak-ng): every format the upload page and the
README list, rates 8–192 kHz, bit depths, channel counts, and broken variants.

``build(folder)`` writes the files and returns their descriptions; ``ffprobe_facts(path)`` is the reference
the tests compare stored metadata with. Nothing here imports Earmark.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("ffmpeg", "ffprobe", "sox", "espeak-ng")
TEXT = (
    "Earmark keeps every recording with its speaker and consent. The quick brown fox jumps over the lazy dog, "
    "and a second sentence makes the clip a few seconds long."
)


@dataclass(frozen=True)
class Item:
    name: str  # the file name as uploaded
    good: bool
    container: str = ""  # expected container (good files)
    codec: str = ""  # expected codec
    lossy: bool = False
    input_sample_rate: int | None = None
    error: str = ""  # words the rejection message must contain (bad files)


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _ff(src: Path, dst: Path, *args: str) -> None:
    _run("ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), *args, str(dst))


# (name, ffmpeg output options, container, codec, lossy, input rate)
_FFMPEG_GOOD = [
    ("wav_u8_8k_mono.wav", ("-ar", "8000", "-ac", "1", "-c:a", "pcm_u8"), "wav", "pcm_u8", False, None),
    ("wav_s16_16k_mono.wav", ("-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"), "wav", "pcm_s16le", False, None),
    ("wav_s24_48k_stereo.wav", ("-ar", "48000", "-ac", "2", "-c:a", "pcm_s24le"), "wav", "pcm_s24le", False, None),
    ("wav_s32_44k1_mono.wav", ("-ar", "44100", "-ac", "1", "-c:a", "pcm_s32le"), "wav", "pcm_s32le", False, None),
    ("wav_f32_96k_stereo.wav", ("-ar", "96000", "-ac", "2", "-c:a", "pcm_f32le"), "wav", "pcm_f32le", False, None),
    ("wav_s16_192k_mono.wav", ("-ar", "192000", "-ac", "1", "-c:a", "pcm_s16le"), "wav", "pcm_s16le", False, None),
    ("wav_s16_11k025_4ch.wav", ("-ar", "11025", "-ac", "4", "-c:a", "pcm_s16le"), "wav", "pcm_s16le", False, None),
    ("flac_s16_16k_mono.flac", ("-ar", "16000", "-ac", "1", "-c:a", "flac"), "flac", "flac", False, None),
    (
        "flac_s24_96k_stereo.flac",
        ("-ar", "96000", "-ac", "2", "-c:a", "flac", "-sample_fmt", "s32"),
        "flac",
        "flac",
        False,
        None,
    ),
    ("flac_s16_8k_mono.flac", ("-ar", "8000", "-ac", "1", "-c:a", "flac"), "flac", "flac", False, None),
    ("aiff_s16_16k_mono.aiff", ("-ar", "16000", "-ac", "1", "-c:a", "pcm_s16be"), "aiff", "pcm_s16be", False, None),
    ("aiff_s24_44k1_stereo.aif", ("-ar", "44100", "-ac", "2", "-c:a", "pcm_s24be"), "aiff", "pcm_s24be", False, None),
    ("vorbis_44k1_stereo.ogg", ("-ar", "44100", "-ac", "2", "-c:a", "libvorbis"), "ogg", "vorbis", True, None),
    ("vorbis_16k_mono.ogg", ("-ar", "16000", "-ac", "1", "-c:a", "libvorbis"), "ogg", "vorbis", True, None),
    ("opus_from_16k_mono.opus", ("-ar", "16000", "-ac", "1", "-c:a", "libopus"), "ogg", "opus", True, 16000),
    ("opus_48k_stereo.opus", ("-ar", "48000", "-ac", "2", "-c:a", "libopus"), "ogg", "opus", True, 48000),
    ("mp3_44k1_stereo.mp3", ("-ar", "44100", "-ac", "2", "-c:a", "libmp3lame"), "mp3", "mp3", True, None),
    ("mp3_8k_mono.mp3", ("-ar", "8000", "-ac", "1", "-c:a", "libmp3lame"), "mp3", "mp3", True, None),
    (
        "mp3_id3_22k05_mono.mp3",
        ("-ar", "22050", "-ac", "1", "-c:a", "libmp3lame", "-id3v2_version", "3", "-metadata", "title=corpus"),
        "mp3",
        "mp3",
        True,
        None,
    ),
    ("aac_44k1_stereo.m4a", ("-ar", "44100", "-ac", "2", "-c:a", "aac"), "mp4", "aac", True, None),
    ("aac_16k_mono.m4a", ("-ar", "16000", "-ac", "1", "-c:a", "aac"), "mp4", "aac", True, None),
    ("alac_48k_stereo.m4a", ("-ar", "48000", "-ac", "2", "-c:a", "alac"), "mp4", "alac", False, None),
    ("adts_16k_mono.aac", ("-ar", "16000", "-ac", "1", "-c:a", "aac", "-f", "adts"), "adts", "aac", True, None),
    ("adts_48k_stereo.aac", ("-ar", "48000", "-ac", "2", "-c:a", "aac", "-f", "adts"), "adts", "aac", True, None),
]


def build(folder: Path) -> list[Item]:
    """Write the corpus into ``folder``; returns one Item per file."""
    folder.mkdir(parents=True, exist_ok=True)
    speech = folder.parent / "speech-source.wav"
    if not speech.exists():
        _run("espeak-ng", "-w", str(speech), TEXT)
    items: list[Item] = []
    for name, args, container, codec, lossy, input_rate in _FFMPEG_GOOD:
        _ff(speech, folder / name, *args)
        items.append(Item(name, True, container, codec, lossy, input_rate))
    # sox: 6-channel FLAC at 22.05 kHz, a 24-bit WAV at 32 kHz, an 8-bit-in-16 AIFF-C.
    _run("sox", str(speech), "-r", "22050", "-c", "6", "-b", "16", str(folder / "sox_flac_22k05_6ch.flac"))
    items.append(Item("sox_flac_22k05_6ch.flac", True, "flac", "flac"))
    _run("sox", str(speech), "-r", "32000", "-c", "2", "-b", "24", str(folder / "sox_wav_s24_32k_stereo.wav"))
    items.append(Item("sox_wav_s24_32k_stereo.wav", True, "wav", "pcm_s24le"))
    # Names: letters of other scripts, emoji, spaces and inner dots all stay.
    _ff(speech, folder / "音声_🎤 take.2.wav", "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", "-af", "volume=0.9")
    items.append(Item("音声_🎤 take.2.wav", True, "wav", "pcm_s16le"))
    # Wrong extension: a FLAC named .mp3 is a FLAC (the bytes decide, not the name).
    _ff(
        speech,
        folder / "really_flac.mp3",
        "-ar",
        "16000",
        "-ac",
        "1",
        "-c:a",
        "flac",
        "-af",
        "volume=0.8",
        "-f",
        "flac",
    )
    items.append(Item("really_flac.mp3", True, "flac", "flac"))

    # Broken variants.
    wav = (folder / "wav_s16_16k_mono.wav").read_bytes()
    (folder / "empty.wav").write_bytes(b"")
    items.append(Item("empty.wav", False, error="empty (0 bytes)"))
    (folder / "garbage.wav").write_bytes(random.Random(14).randbytes(5000))
    items.append(Item("garbage.wav", False, error="not an audio file"))
    (folder / "notes.flac").write_text("these are field notes, not audio\n" * 20)
    items.append(Item("notes.flac", False, error="looks like text"))
    (folder / "truncated.wav").write_bytes(wav[: len(wav) // 3])
    items.append(Item("truncated.wav", False, error="the header says"))
    rate0 = bytearray(_ff_bytes(speech, "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav"))
    rate0[24:28] = (0).to_bytes(4, "little")  # fmt chunk: sample rate
    (folder / "rate0.wav").write_bytes(bytes(rate0))
    items.append(Item("rate0.wav", False, error="the sample rate is 0"))
    flac = (folder / "flac_s16_16k_mono.flac").read_bytes()
    (folder / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    items.append(Item("truncated.flac", False, error="the header says"))
    m4a = (folder / "aac_16k_mono.m4a").read_bytes()
    (folder / "truncated.m4a").write_bytes(m4a[: len(m4a) // 2])
    items.append(Item("truncated.m4a", False, error="MP4/M4A file"))
    (folder / "picture.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    items.append(Item("picture.mp3", False, error="PNG image"))
    return items


def _ff_bytes(src: Path, *args: str) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), *args, "-"], check=True, capture_output=True
    ).stdout


def ffprobe_facts(path: Path) -> dict:
    """ffprobe's view of the first audio stream: codec, rate, channels and duration in seconds.

    For raw ADTS and MP3, whose duration ffprobe estimates from the bit rate and frame count (encoder padding
    included), the duration is the length ffmpeg decodes.
    """
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,sample_rate,channels,duration:format=format_name,duration",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
    ).stdout
    data = json.loads(out)
    s, fmt = data["streams"][0], data["format"]
    rate = int(s["sample_rate"])
    duration = float(s.get("duration") or fmt.get("duration") or 0)
    if fmt.get("format_name") in ("aac", "mp3"):
        pcm = subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-f", "s16le", "-"],
            check=True,
            capture_output=True,
        ).stdout
        duration = len(pcm) / 2 / rate
    return {
        "codec": s["codec_name"],
        "sample_rate": rate,
        "channels": int(s["channels"]),
        "duration": duration,
        "format": fmt.get("format_name", ""),
    }


if __name__ == "__main__":  # python -m tests.catalog.corpus OUT_DIR: write the corpus for a look by hand
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()) / "corpus"
    for item in build(target):
        print(("good " if item.good else "bad  ") + item.name)
