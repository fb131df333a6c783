"""The data card: a README.md written into every release.

`render_data_card(stats)` reads these keys, all optional except `splits`:

- name, version, description, license, format (one of the release formats)
- splits: {split: {"items", "hours", "speakers", "labels": {..}, "languages": {..}}}
  (what `apps.datasets.splits.split_stats` returns)
- speakers: {"count": int, "demographics": {"gender": {value: count}, "age_band": {...}}}
- labels, languages: {name: count}; summed over the splits when absent
- consent_purposes: [purpose, ...]; collection, annotation: free text
- speakerless: {"clear", "confirmed", "held", "unchecked": count}: the speech detector's verdicts on the
  recordings that name no speaker (consent's speech_verdicts)
- agreement: {metric: value}; limitations: [text, ...]; checksum: hex digest
- citation: text; formats: [format, ...] (for the header's configs when `format` is absent)
- audio: {"format", "sample_rate", "source"}; processing: {"name", "hash", "audio": {..}, "features": {..}};
  features: [kind, ...] (feature arrays shipped with each example)
- speakers may carry "pseudonymised": bool and "k_anonymity": k (demographic cells under k speakers are
  not shown)
- changes: {"against_version", "added", "removed", "removed_by_reason": {reason: n}, "relabelled",
  "retranscribed", "moved"}: the diff from the previous release (services/diff.py)
- prelabel: {"regions", "from_model", "accepted_unchanged"}: regions a project model suggested
- baseline: {"backend", "task", "recipe", "accuracy", "macro_f1", "chance", "train_examples", "test_examples"}
  or {"error"}: the default model trained on the train split, scored on the test split

The card opens with a Hugging Face YAML header (license, language, task_categories, pretty_name,
size_categories, configs with each split's files), so `datasets.load_dataset(release_dir)` finds the splits.

Output depends only on `stats` (sorted where the input has no order), so a
rebuild gives the same README.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

SPLIT_ORDER = ("train", "validation", "test")

USAGE = {
    "jsonl": "NeMo-style manifests in `manifests/{split}.jsonl`; `audio_filepath` is relative to the manifest.",
    "csv": '`pandas.read_csv("metadata.csv", keep_default_na=False)`; `file` is relative to this folder.',
    "hf-parquet": '`datasets.load_dataset("parquet", data_files={"train": "data/train-*.parquet"})`; '
    "`audio` loads as an `Audio` feature.",
    "lhotse": '`RecordingSet.from_file("lhotse/recordings_train.jsonl.gz").with_path_prefix(root)`, '
    "`SupervisionSet.from_file(...)`, then `CutSet.from_manifests(...)`.",
    "webdataset": "`webdataset.WebDataset(urls)` over the shards listed (brace pattern) in `shards/{split}.txt`.",
}

LIMITATION_WITHDRAWAL = (
    "Speakers may withdraw consent after this release is built. Earmark then marks the release; "
    "check its withdrawals list and drop the withdrawn examples before further use."
)


# Where each split's files are, per format, for the header's `configs` (formats `datasets` can load).
SPLIT_FILES = {
    "hf-parquet": "data/{split}-*.parquet",
    "jsonl": "manifests/{split}.jsonl",
    "webdataset": "shards/{split}-*.tar",
}


def _size_category(n: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ]
    return next((name for bound, name in bounds if n < bound), "n>10M")


def _yaml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON scalar is a valid YAML scalar


def _header(stats: Mapping[str, Any], order: list[str]) -> list[str]:
    splits = stats.get("splits", {})
    items = sum(splits[s].get("items", 0) for s in order)
    languages = sorted({tag.split("-")[0].lower() for s in order for tag in splits[s].get("languages", {})})
    labels = any(splits[s].get("labels") for s in order)
    tasks = (["automatic-speech-recognition"] if stats.get("has_text") else []) + (
        ["audio-classification"] if labels else []
    )
    lines = ["---", f"license: {_yaml(stats.get('license') or 'unknown')}"]
    if languages:
        lines += ["language:"] + [f"- {_yaml(x)}" for x in languages]
    if tasks:
        lines += ["task_categories:"] + [f"- {_yaml(x)}" for x in tasks]
    lines += [
        f"pretty_name: {_yaml(stats.get('name', 'Earmark dataset release'))}",
        "size_categories:",
        f"- {_yaml(_size_category(items))}",
    ]
    fmt = stats.get("format") or next((f for f in SPLIT_FILES if f in (stats.get("formats") or ())), None)
    if fmt in SPLIT_FILES and order:
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split in order:
            lines += [f"  - split: {split}", f"    path: {_yaml(SPLIT_FILES[fmt].format(split=split))}"]
    return lines + ["---", ""]


def _suppressed(counts: Mapping[str, int], k: int | None) -> tuple[list[list[Any]], int]:
    """Rows of (value, speakers) with cells under k speakers left out; returns the rows and how many were."""
    rows = _counts(counts)
    if not k:
        return rows, 0
    kept = [r for r in rows if r[1] >= k]
    return kept, len(rows) - len(kept)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _counts(counts: Mapping[str, int]) -> list[list[Any]]:
    return [[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _ordered_splits(splits: Mapping[str, Any]) -> list[str]:
    return [s for s in SPLIT_ORDER if s in splits] + sorted(s for s in splits if s not in SPLIT_ORDER)


def _audio_section(stats: Mapping[str, Any]) -> list[str]:
    audio, processing = stats.get("audio") or {}, stats.get("processing") or {}
    if not audio and not processing:
        return []
    out = ["## Audio and processing", ""]
    if audio:
        source = (
            "the output of the processing recipe below"
            if audio.get("source") == "recipe"
            else "the original recordings (cut to the example), not the processed audio"
        )
        encoding = str(audio.get("format", "flac")).upper()
        out += [f"Audio: {encoding} at {audio.get('sample_rate')} Hz, from {source}.", ""]
    if processing:
        out += [f"Processing recipe `{processing.get('name') or 'unnamed'}` ({processing.get('hash', '')}):", ""]
        rows = [[k, json.dumps(v, sort_keys=True)] for k, v in sorted((processing.get("audio") or {}).items())]
        out += _table(["setting", "value"], rows) + [""] if rows else []
    feats = stats.get("features") or []
    params = processing.get("features") or {}
    if feats:
        out += [
            f"Feature arrays with every example: {', '.join(f'`{f}`' for f in feats)} "
            f"({processing.get('feature_dtype', 'float32')}, frames on the last axis).",
            "",
        ]
    if params:
        out += ["Feature parameters (librosa, one STFT shared by every feature):", ""]
        out += _table(
            ["parameter", "value"], [[k, json.dumps(v, sort_keys=True)] for k, v in sorted(params.items())]
        ) + [""]
    return out


def _speakerless_section(verdicts: Mapping[str, int] | None) -> list[str]:
    """What the speech detector said of the recordings that name no speaker (included without consent)."""
    if verdicts is None:  # a card from before the detector: say nothing it cannot back
        return [
            "Recordings that name no speaker were included without a consent grant; no speech detector's verdict "
            "is recorded for them, so they may contain voices.",
            "",
        ]
    total = sum(verdicts.values())
    if not total:
        return ["Every recording in this release names a speaker.", ""]
    checked = total - verdicts.get("unchecked", 0)
    clear, confirmed = verdicts.get("clear", 0), verdicts.get("confirmed", 0)
    out = [
        f"{total} recording(s) name no speaker and were included without a consent grant. The speech detector "
        f"(Silero VAD) checked {checked} of them:",
        "",
    ]
    out += _table(
        ["detector verdict", "recordings"],
        [
            ["no speech detected (no voice data)", clear],
            ["speech detected; a manager confirmed no identifiable voice", confirmed],
            ["speech detected, held (not included)", verdicts.get("held", 0)],
            ["not checked (may contain voices)", verdicts.get("unchecked", 0)],
        ],
    ) + [""]
    if clear == total:
        out += ["All of them are no voice data: the detector found no speech in any.", ""]
    else:
        out += [
            f"Only the {clear} in which the detector found no speech count as no voice data; the rest may contain "
            "voices (confirmed as not identifiable by a manager, or not checked).",
            "",
        ]
    return out


def render_data_card(stats: Mapping[str, Any]) -> str:
    splits = stats.get("splits", {})
    order = _ordered_splits(splits)
    title = stats.get("name", "Earmark dataset release")
    if stats.get("version") is not None:
        title += f" (version {stats['version']})"
    out = _header(stats, order) + [f"# {title}", ""]
    out += [
        stats.get("description")
        or "An audio dataset release built by Earmark from consented recordings and reviewed annotations.",
        "",
    ]
    out += [f"License: `{stats['license']}`" if stats.get("license") else "License: not stated.", ""]
    if stats.get("format") in USAGE:
        out += ["## How to load", "", f"Format `{stats['format']}`: {USAGE[stats['format']]}", ""]

    out += ["## Splits", ""]
    rows = [
        [s, splits[s].get("items", 0), f"{splits[s].get('hours', 0.0):.2f}", splits[s].get("speakers", 0)]
        for s in order
    ]
    rows.append(["total", sum(r[1] for r in rows), f"{sum(splits[s].get('hours', 0.0) for s in order):.2f}", ""])
    out += _table(["split", "items", "hours", "speakers"], rows) + [""]
    out += ["Splits are speaker-disjoint: every speaker's items are in one split.", ""]

    speakers = stats.get("speakers") or {}
    out += ["## Speakers", ""]
    if "count" in speakers:
        who = (
            "pseudonyms made for this release (salted per release, so they match no other release and no project code)"
            if speakers.get("pseudonymised")
            else "pseudonymous codes"
        )
        out += [f"{speakers['count']} speakers, identified only by {who}.", ""]
    k = speakers.get("k_anonymity")
    if k:
        out += [
            f"Demographic counts below {k} speakers are not shown (k-anonymity, k = {k}), so no small group "
            "can be singled out.",
            "",
        ]
    for field, counts in sorted((speakers.get("demographics") or {}).items()):
        rows, hidden = _suppressed(counts, k)
        out += [f"### {field.replace('_', ' ').capitalize()}", ""]
        if rows:
            out += _table([field, "speakers"], rows) + [""]
        else:
            out += ["No group reaches the threshold." if counts else "Not given.", ""]
        if hidden:
            out += [f"{hidden} smaller group(s) not shown.", ""]
    if not speakers:
        out += ["No speaker demographics were given.", ""]

    for title, key in (("Labels", "labels"), ("Languages", "languages")):
        counts = stats.get(key)
        if counts is None:
            counts = sum((Counter(splits[s].get(key, {})) for s in order), Counter())
        out += [f"## {title}", ""]
        out += (_table([key[:-1], "items"], _counts(counts)) if counts else [f"No {key}."]) + [""]

    purposes = stats.get("consent_purposes") or []
    out += ["## Consent", ""]
    out += [
        "Every speaker in this release had a live consent grant covering: "
        + (", ".join(f"`{p}`" for p in sorted(purposes)) if purposes else "(not stated)")
        + ".",
        "",
    ]
    out += _speakerless_section(stats.get("speakerless"))
    out += ["## Collection", "", stats.get("collection") or "Not described.", ""]
    out += _audio_section(stats)
    out += ["## Annotation", "", stats.get("annotation") or "Not described.", ""]
    agreement = stats.get("agreement") or {}
    if agreement:
        out += ["### Agreement", ""] + _table(["metric", "value"], sorted([k, v] for k, v in agreement.items())) + [""]

    changes = stats.get("changes")
    if changes:
        why = ", ".join(f"{n} {r}" for r, n in sorted((changes.get("removed_by_reason") or {}).items()) if n)
        out += [f"## Changes since version {changes['against_version']}", ""]
        out += _table(
            ["change", "examples"],
            [
                ["added", changes.get("added", 0)],
                ["removed" + (f" ({why})" if why else ""), changes.get("removed", 0)],
                ["relabelled", changes.get("relabelled", 0)],
                ["re-transcribed", changes.get("retranscribed", 0)],
                ["moved between splits", changes.get("moved", 0)],
            ],
        ) + [""]
    prelabel = stats.get("prelabel") or {}
    if prelabel.get("regions"):
        share = prelabel["from_model"] / prelabel["regions"]
        unchanged = prelabel["accepted_unchanged"] / prelabel["regions"]
        out += [
            "### Pre-labelling",
            "",
            f"{prelabel['from_model']} of {prelabel['regions']} labelled regions ({share:.1%}) came from a project "
            f"model's suggestions; {prelabel['accepted_unchanged']} ({unchanged:.1%}) were accepted unchanged "
            "(same label and times as suggested).",
            "",
        ]
    baseline = stats.get("baseline")
    if baseline:
        out += ["## Baseline", ""]
        if baseline.get("error"):
            out += [f"No baseline: {_cell(baseline['error'])}", ""]
        else:
            recipe = ", ".join(f"{k}={v}" for k, v in sorted((baseline.get("recipe") or {}).items()))
            out += [
                f"Earmark's default {baseline['task']} model ({baseline['backend']}), trained on the train split "
                f"({baseline.get('train_examples')} examples) and scored on the test split "
                f"({baseline.get('test_examples')} examples, speakers it never saw):",
                "",
            ]
            out += _table(
                ["metric", "value"],
                [
                    ["accuracy", f"{baseline['accuracy']:.3f}"],
                    ["macro-F1", f"{baseline['macro_f1']:.3f}"],
                    ["chance (commonest label)", f"{baseline['chance']:.3f}"],
                ],
            ) + [""]
            out += [f"Recipe: {_cell(recipe)}.", ""]

    out += ["## Known limitations", ""]
    out += [f"- {_cell(x)}" for x in [*(stats.get("limitations") or []), LIMITATION_WITHDRAWAL]] + [""]

    if stats.get("citation"):
        out += ["## Citation", "", "```", stats["citation"], "```", ""]

    out += ["## Checksums", ""]
    if stats.get("checksum"):
        out += [
            f"Release checksum: `{stats['checksum']}`, the sha256 of `SHA256SUMS` without its README.md line: "
            "`grep -v ' README.md$' SHA256SUMS | sha256sum`. Verify the files with `sha256sum -c SHA256SUMS`.",
            "",
        ]
    else:
        out += ["Verify the files with `sha256sum -c SHA256SUMS`.", ""]
    return "\n".join(out)
