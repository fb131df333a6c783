"""NeMo-style JSON-lines manifests next to one audio file per example.

Layout::

    audio/{split}/{key}.flac
    features/{split}/{key}.{name}.npy      (only when examples carry features)
    manifests/{split}.jsonl

`audio_filepath` (and each feature path) is relative to the manifest's own
folder, e.g. `../audio/train/r000001.flac`: NeMo resolves relative paths
against the manifest's directory, and so can anyone with
`os.path.join(os.path.dirname(manifest), audio_filepath)`. `offset` is always 0
because the file is already the cut; `source_offset` says where it came from.
`label` is the single label when an example has exactly one, else null;
`labels` is always the full list. `words` carries word timings (``[{word, start, end}]``, seconds in the
example's audio); aligned examples also name a CTM (`word_level_ctm_filepath`, as NeMo Forced Aligner's output
manifest does) and a Praat TextGrid (`textgrid_filepath`): see words.py.
"""

from __future__ import annotations

from .base import Example, FormatWriter, HashedFile, dumps, sorted_extra
from .words import words_json, write_word_files


class JsonlWriter(FormatWriter):
    name = "jsonl"
    audio_files = True

    def __init__(self, sink) -> None:
        super().__init__(sink)
        self._manifests: dict[str, HashedFile] = {}

    def _write(self, ex: Example) -> None:
        audio = self.write_audio_file(ex)
        features = self.write_feature_files(ex)
        row = {
            "audio_filepath": f"../{audio}",
            "duration": ex.duration,
            "offset": 0.0,
            "text": ex.text,
            "label": ex.labels[0] if len(ex.labels) == 1 else None,
            "labels": list(ex.labels),
            "speaker": ex.speaker,
            "language": ex.language,
            "split": ex.split,
            "key": ex.key,
            "recording_id": ex.recording_id,
            "source_offset": ex.source_offset,
            "sample_rate": ex.sample_rate,
            "num_samples": ex.num_samples,
            "extra": sorted_extra(ex),
        }
        if features:
            row["features"] = {name: f"../{path}" for name, path in features.items()}
        self._add_words(row, ex)
        if ex.split not in self._manifests:
            self._manifests[ex.split] = self.open(f"manifests/{ex.split}.jsonl")
        self._manifests[ex.split].write((dumps(row) + "\n").encode())

    def _add_words(self, row: dict, ex: Example) -> None:
        """Word timings (words.py): inline, plus NFA's ``word_level_ctm_filepath`` and a TextGrid when aligned."""
        row["words"] = words_json(ex.words)
        for kind, path in write_word_files(self, ex, ctm=True).items():
            row["word_level_ctm_filepath" if kind == "ctm" else "textgrid_filepath"] = f"../{path}"

    def _finish(self) -> None:
        for split in sorted(self._manifests):
            self._manifests[split].close()
