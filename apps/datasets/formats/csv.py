"""One `metadata.csv` (a row per example) next to one audio file per example.

Layout::

    audio/{split}/{key}.flac
    features/{split}/{key}.{name}.npy      (only when examples carry features)
    metadata.csv

Columns: key, split, file (relative to the release root), duration,
sample_rate, num_samples, text, labels (";"-joined), speaker, language,
recording_id, source_offset, extra (JSON), words (word timings as JSON, see words.py; aligned examples also get
`textgrid/{split}/{key}.TextGrid`), then `feature_{name}` paths.
Read it with ``pandas.read_csv(root / "metadata.csv", keep_default_na=False)``:
without `keep_default_na=False`, pandas turns empty fields and transcripts such
as "NA" or "null" into NaN. Cells are written as they are; a transcript that
starts with "=" is not escaped for spreadsheets, since that would change the data.
"""

from __future__ import annotations

import csv
import io

from .base import Example, FormatWriter, dumps, sorted_extra
from .words import words_json, write_word_files

BASE_COLUMNS = (
    "key",
    "split",
    "file",
    "duration",
    "sample_rate",
    "num_samples",
    "text",
    "labels",
    "speaker",
    "language",
    "recording_id",
    "source_offset",
    "extra",
    "words",
)


class CsvWriter(FormatWriter):
    name = "csv"
    audio_files = True

    def __init__(self, sink) -> None:
        super().__init__(sink)
        self._file = None
        self._buf = io.StringIO()
        self._csv = csv.writer(self._buf, lineterminator="\n")

    def _row(self, values) -> None:
        self._buf.seek(0)
        self._buf.truncate()
        self._csv.writerow(values)
        self._file.write(self._buf.getvalue().encode())

    def _header(self) -> None:
        self._file = self.open("metadata.csv")
        self._row(BASE_COLUMNS + tuple(f"feature_{n}" for n in self.feature_names or ()))

    def _write(self, ex: Example) -> None:
        bad = [label for label in ex.labels if ";" in label]
        if bad:
            raise ValueError(f"Label {bad[0]!r} of {ex.key} contains ';', which the CSV format uses to join labels.")
        if self._file is None:
            self._header()
        audio = self.write_audio_file(ex)
        features = self.write_feature_files(ex)
        self._row(
            [
                ex.key,
                ex.split,
                audio,
                repr(ex.duration),
                ex.sample_rate,
                ex.num_samples,
                ex.text,
                ";".join(ex.labels),
                ex.speaker or "",
                ex.language or "",
                ex.recording_id or "",
                repr(ex.source_offset),
                dumps(sorted_extra(ex)) if ex.extra else "",
                self._words(ex),
                *(features[n] for n in self.feature_names),
            ]
        )

    def _words(self, ex: Example) -> str:
        """The ``words`` cell: word timings as JSON (and a TextGrid file beside the audio), words.py."""
        write_word_files(self, ex)
        return dumps(words_json(ex.words)) if ex.words else ""

    def _finish(self) -> None:
        if self._file is None:
            self._header()
        self._file.close()
