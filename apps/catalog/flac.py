"""A FLAC file as a release copies it: its STREAMINFO, then its audio frames untouched (every other metadata
block dropped: tags, pictures and cue sheets may carry personal data and would make equal audio differ in bytes).

Parsed in place, on bytes already in memory: no file object and no read per metadata block. Used where a short
file's copy is made (apps/datasets/services/audio.py) and where its digest is taken once, at ingest.
"""

from __future__ import annotations

import hashlib


def flac_header_in(data: bytes | memoryview) -> tuple[bytes, bytes, int]:
    """(the header a copy starts with, STREAMINFO, where the first audio frame starts) of a whole FLAC file.

    Raises ValueError when ``data`` is not a FLAC stream with a STREAMINFO block."""
    if bytes(data[:4]) != b"fLaC":
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
            streaminfo = bytes(data[at - length : at])
    if streaminfo is None or len(streaminfo) != 34:
        raise ValueError("FLAC stream without STREAMINFO")
    return b"fLaC" + bytes([0x80]) + (34).to_bytes(3, "big") + streaminfo, streaminfo, at


def flac_copy_sha256(data: bytes | memoryview) -> str:
    """sha256 (hex) of the copy of a whole FLAC file (flac_header_in's header, then its frames); ValueError as
    flac_header_in."""
    header, _, first = flac_header_in(data)
    digest = hashlib.sha256(header)
    digest.update(memoryview(data)[first:])
    return digest.hexdigest()
