"""Lhotse recording, supervision and cut manifests next to one audio file per example.

Layout::

    audio/{split}/{key}.flac
    lhotse/recordings_{split}.jsonl.gz
    lhotse/supervisions_{split}.jsonl.gz
    lhotse/cuts_{split}.jsonl.gz

Each example is one Lhotse `Recording` (id = key, the cut audio file) with one
`SupervisionSegment` covering all of it (text, language, speaker; labels,
source recording and source offset under `custom`). Source paths are relative
to the release root, so load with::

    recs = RecordingSet.from_file(root / "lhotse/recordings_train.jsonl.gz").with_path_prefix(root)
    sups = SupervisionSet.from_file(root / "lhotse/supervisions_train.jsonl.gz")
    cuts = CutSet.from_manifests(recordings=recs, supervisions=sups)

or read the cuts directly: ``CutSet.from_file(root / "lhotse/cuts_train.jsonl.gz").with_recording_path_prefix(root)``.
Each cut is exactly what ``CutSet.from_manifests`` makes of that recording and supervision (a MonoCut, or a
MultiCut for several channels), except that its id is the example key instead of lhotse's running
"{recording id}-{index}" (a test holds the two equal).

Aligned examples carry word timings as ``alignment["word"]`` (lhotse ``AlignmentItem``s, in the supervision's
time base) and a Praat TextGrid named in ``custom["textgrid"]`` (see words.py).

The gzip streams carry no name and mtime 0, so rebuilds are byte-identical.
Only JSON is written here; the writer does not import lhotse (it needs torch, which the runtime does not install).
"""

from __future__ import annotations

import gzip

from .base import Example, FormatWriter, HashedFile, dumps, sorted_extra
from .words import lhotse_alignment, write_word_files


class _GzipLines:
    """JSON lines into a gzip stream, handed to the compressor ``BATCH`` bytes at a time.

    Deflate without flushes gives the same bytes however its input is cut (a test holds it), and one
    compressor call per line cost more than the compression of the line itself.
    """

    BATCH = 1 << 18

    def __init__(self, file: HashedFile) -> None:
        self.file = file
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=file, compresslevel=6, mtime=0)
        self._lines: list[bytes] = []
        self._held = 0

    def write(self, obj: dict) -> None:
        self.write_json(dumps(obj))

    def write_json(self, text: str) -> None:
        """One line already dumped (``dumps``)."""
        line = (text + "\n").encode()
        self._lines.append(line)
        self._held += len(line)
        if self._held >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self.gz.write(b"".join(self._lines))
            self._lines, self._held = [], 0

    def close(self) -> None:
        self._flush()
        self.gz.close()
        self.file.close()


class LhotseWriter(FormatWriter):
    name = "lhotse"
    audio_files = True

    def __init__(self, sink) -> None:
        super().__init__(sink)
        self._files: dict[tuple[str, str], _GzipLines] = {}

    def _out(self, kind: str, split: str) -> _GzipLines:
        if (kind, split) not in self._files:
            self._files[kind, split] = _GzipLines(self.open(f"lhotse/{kind}_{split}.jsonl.gz"))
        return self._files[kind, split]

    def _write(self, ex: Example) -> None:
        audio = self.write_audio_file(ex)
        channels = list(range(ex.channels))
        recording = {
            "id": ex.key,
            "sources": [{"type": "file", "channels": channels, "source": audio}],
            "sampling_rate": ex.sample_rate,
            "num_samples": ex.num_samples,
            "duration": ex.duration,
            "channel_ids": channels,
        }
        custom = {
            "labels": list(ex.labels),
            "split": ex.split,
            "source_recording_id": ex.recording_id,
            "source_offset": ex.source_offset,
        }
        if ex.extra:
            custom["extra"] = sorted_extra(ex)
        features = self.write_feature_files(ex)
        if features:
            custom["features"] = features
        supervision = {
            "id": ex.key,
            "recording_id": ex.key,
            "start": 0.0,
            "duration": ex.duration,
            "channel": channels[0] if len(channels) == 1 else channels,
            "text": ex.text,
            "language": ex.language,
            "speaker": ex.speaker,
            "custom": custom,
        }
        supervision = {k: v for k, v in supervision.items() if v is not None}
        self._add_words(supervision, ex)
        recording_json, supervision_json = dumps(recording), dumps(supervision)
        self._out("recordings", ex.split).write_json(recording_json)
        self._out("supervisions", ex.split).write_json(supervision_json)
        # The cut holds the supervision and the recording as they are: their JSON is spliced in, not encoded again
        # (the same text: the encoder writes a nested object exactly as it writes it alone; a test pins the bytes).
        head = dumps({"id": ex.key, "start": 0.0, "duration": ex.duration, "channel": supervision["channel"]})
        kind = "MonoCut" if len(channels) == 1 else "MultiCut"
        self._out("cuts", ex.split).write_json(
            f'{head[:-1]}, "supervisions": [{supervision_json}], "recording": {recording_json}, "type": "{kind}"}}'
        )

    def _add_words(self, supervision: dict, ex: Example) -> None:
        """Word timings (words.py): ``alignment["word"]`` on the supervision, and a TextGrid file."""
        if ex.words:
            supervision["alignment"] = lhotse_alignment(ex.words)
            supervision["custom"]["textgrid"] = write_word_files(self, ex)["textgrid"]

    def _finish(self) -> None:
        for key in sorted(self._files):
            self._files[key].close()
