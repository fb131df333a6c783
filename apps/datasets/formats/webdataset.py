"""WebDataset tar shards: `{key}.flac` + `{key}.json` (+ `{key}.{name}.npy`) per sample.

Layout::

    shards/{split}-{000000}.tar
    shards/{split}.txt          one line: the shard URL pattern, e.g. train-{000000..000041}.tar

Load with ``wds.WebDataset([str(root / "shards" / u) for u in braceexpand(line)])``
or hand the expanded pattern to `wds.WebDataset` directly. A new shard starts
when the next sample would pass `max_shard_bytes` or the shard holds
`max_shard_samples` samples. The `.json` member holds the same fields as a
jsonl manifest line minus the paths.

Headers are built by `tarfile.TarInfo` (ustar, mtime 0, uid/gid 0,
uname/gname "earmark", mode 0o644) and streamed by hand rather than through
`webdataset.TarWriter` (which stamps the current time and its own owner names)
or `tarfile.TarFile` (which keeps every member in a list); the bytes are
plain POSIX tar, padded to 10240-byte records as GNU tar and Python write them.
"""

from __future__ import annotations

import tarfile

from .base import Example, FormatWriter, HashedFile, dumps, npy_bytes, sorted_extra
from .words import textgrid_text, words_json

BLOCK, RECORD = 512, 20 * 512


def tar_header_slow(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "earmark"
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


# tarfile's header for a fixed name and size, with the name, size and checksum fields then refilled per
# member: the same bytes as tar_header_slow, about ten times faster (tested). The checksum (the sum of the
# header's bytes, its own field read as spaces) is the template's sum without those fields plus theirs.
_TEMPLATE = bytes(tar_header_slow("x", 0))
_MODE_TO_SIZE, _MTIME_TO_CHKSUM, _TYPEFLAG_ON = _TEMPLATE[100:124], _TEMPLATE[136:148], _TEMPLATE[156:]
_BASE_SUM = sum(_MODE_TO_SIZE) + sum(_MTIME_TO_CHKSUM) + sum(_TYPEFLAG_ON) + 8 * ord(" ")


def tar_header(name: str, size: int) -> bytes:
    raw = name.encode("utf-8")
    if len(raw) >= 100 or size >= 8**11:  # would need a ustar prefix or a larger size field
        return tar_header_slow(name, size)
    size_field = b"%011o\0" % size
    chksum = b"%06o\0 " % (_BASE_SUM + sum(raw) + sum(size_field))
    return b"".join((raw.ljust(100, b"\0"), _MODE_TO_SIZE, size_field, _MTIME_TO_CHKSUM, chksum, _TYPEFLAG_ON))


_PADS = [bytes(n) for n in range(BLOCK)]  # the zeros that pad a member of each size to its 512-byte block


def sample_parts(members: list[tuple[str, bytes]]) -> tuple[list[bytes], int]:
    """One sample's tar members as the pieces to write (header, data, padding per member) and their size."""
    parts: list[bytes] = []
    size = 0
    for name, data in members:
        n = len(data)
        pad = -n % BLOCK
        parts += (tar_header(name, n), data, _PADS[pad])
        size += BLOCK + n + pad
    return parts, size


class _Shard:
    def __init__(self, file: HashedFile) -> None:
        self.file, self.samples = file, 0

    def add(self, parts: list[bytes], size: int) -> None:
        """A sample's members at once (``sample_parts``): one hand-over to the file, not three per member."""
        self.file.write_parts(parts, size)
        self.samples += 1

    def close(self) -> None:
        self.file.write(b"\0" * (2 * BLOCK))
        self.file.write(b"\0" * (-self.file.tell() % RECORD))
        self.file.close()


def _word_members(ex: Example) -> list[tuple[str, bytes]]:
    """An aligned example's TextGrid as the sample's ``textgrid`` field (words.py)."""
    if not ex.words:
        return []
    return [(f"{ex.key}.textgrid", textgrid_text(ex.text, ex.words, ex.duration).encode())]


class WebDatasetWriter(FormatWriter):
    name = "webdataset"

    def __init__(self, sink, *, max_shard_bytes: int = 512 << 20, max_shard_samples: int = 10_000) -> None:
        super().__init__(sink)
        self.max_shard_bytes, self.max_shard_samples = max_shard_bytes, max_shard_samples
        self._shards: dict[str, _Shard] = {}
        self._num_shards: dict[str, int] = {}

    def _write(self, ex: Example) -> None:
        meta = {
            "key": ex.key,
            "split": ex.split,
            "duration": ex.duration,
            "sample_rate": ex.sample_rate,
            "num_samples": ex.num_samples,
            "text": ex.text,
            "label": ex.labels[0] if len(ex.labels) == 1 else None,
            "labels": list(ex.labels),
            "speaker": ex.speaker,
            "language": ex.language,
            "recording_id": ex.recording_id,
            "source_offset": ex.source_offset,
            "extra": sorted_extra(ex),
        }
        audio = ex.audio_bytes()
        self.report_audio(ex.key, audio, ex.audio_sha256)
        meta["words"] = words_json(ex.words)
        members = [(ex.audio_name, audio), (f"{ex.key}.json", dumps(meta).encode())]
        if ex.features:
            members += [(f"{ex.key}.{n}.npy", npy_bytes(ex.features[n])) for n in sorted(ex.features)]
        if ex.words:
            members += _word_members(ex)
        parts, size = sample_parts(members)
        shard = self._shards.get(ex.split)
        if shard is not None and (
            shard.samples >= self.max_shard_samples or shard.file.tell() + size > self.max_shard_bytes
        ):
            shard.close()
            shard = None
        if shard is None:
            index = self._num_shards.get(ex.split, 0)
            self._num_shards[ex.split] = index + 1
            shard = self._shards[ex.split] = _Shard(self.open(f"shards/{ex.split}-{index:06d}.tar"))
        shard.add(parts, size)

    def _finish(self) -> None:
        for split in sorted(self._shards):
            self._shards[split].close()
            n = self._num_shards[split]
            pattern = f"{split}-000000.tar" if n == 1 else f"{split}-{{000000..{n - 1:06d}}}.tar"
            with self.open(f"shards/{split}.txt") as f:
                f.write((pattern + "\n").encode())
