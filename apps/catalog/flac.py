"""A FLAC file as a release copies it: its STREAMINFO, then its audio frames untouched (every other metadata
block dropped: tags, pictures and cue sheets may carry personal data and would make equal audio differ in bytes).

Read from a stream (``flac_header_without_metadata``) or, for a short file already in memory, parsed in place
(``flac_header_in``: no file object and no read per metadata block); both give the same header. Used where a
release copies a file (apps/datasets/services/audio.py) and where a short file's copy is hashed once, at ingest.
"""

from __future__ import annotations

import hashlib


def _copy_header(streaminfo: bytes | None) -> tuple[bytes, bytes]:
    """(the header a copy starts with: the marker, then STREAMINFO as the last and only metadata block; STREAMINFO)."""
    if streaminfo is None or len(streaminfo) != 34:
        raise ValueError("FLAC stream without STREAMINFO")
    return b"fLaC" + bytes([0x80]) + (34).to_bytes(3, "big") + streaminfo, streaminfo


def flac_header_without_metadata(src) -> tuple[bytes, bytes]:
    """Read a FLAC stream's metadata; return (the header to write instead, STREAMINFO).

    ``src`` is left at the first audio frame, so copying the rest untouched keeps the samples and STREAMINFO's MD5
    valid. Raises ValueError when ``src`` is not a FLAC stream with a STREAMINFO block.
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
    return _copy_header(streaminfo)


def flac_header_in(data: bytes) -> tuple[bytes, bytes, int]:
    """``flac_header_without_metadata`` of a whole FLAC file in memory: (the header to write, STREAMINFO, where the
    first audio frame starts)."""
    if data[:4] != b"fLaC":
        raise ValueError("not a FLAC stream")
    at, streaminfo, last = 4, None, False
    while not last:
        if at + 4 > len(data):
            raise ValueError("truncated FLAC metadata")
        last, kind, length = bool(data[at] & 0x80), data[at] & 0x7F, int.from_bytes(data[at + 1 : at + 4], "big")
        at += 4 + length
        if at > len(data):
            raise ValueError("truncated FLAC metadata")
        if kind == 0:
            streaminfo = data[at - length : at]
    return *_copy_header(streaminfo), at


def flac_streaminfo_fields(streaminfo: bytes) -> tuple[int, int, int, int]:
    """(sample rate, channels, bits per sample, total samples; 0 = unknown) from a STREAMINFO block."""
    x = int.from_bytes(streaminfo[10:18], "big")
    return x >> 44, ((x >> 41) & 0x7) + 1, ((x >> 36) & 0x1F) + 1, x & ((1 << 36) - 1)


def flac_copy_sha256(data: bytes) -> str:
    """sha256 (hex) of the copy of a whole FLAC file (flac_header_in's header, then its frames); ValueError as
    flac_header_in."""
    header, _, first = flac_header_in(data)
    digest = hashlib.sha256(header)
    digest.update(memoryview(data)[first:])
    return digest.hexdigest()
