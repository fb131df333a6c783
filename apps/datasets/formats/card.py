"""The data card: a README.md written into every release.

`render_data_card(stats)` reads these keys, all optional except `splits`:

- name, version, description, license, format (one of the release formats)
- splits: {split: {"items", "hours", "speakers", "labels": {..}, "languages": {..}}}
  (what `apps.datasets.splits.split_stats` returns)
- speakers: {"count": int, "demographics": {"gender": {value: count}, "age_band": {...}}}
- labels, languages: {name: count}; summed over the splits when absent
- consent_purposes: [purpose, ...]; collection, annotation: free text
- agreement: {metric: value}; limitations: [text, ...]; checksum: hex digest
- changes: {"against_version", "added", "removed", "removed_by_reason": {reason: n}, "relabelled",
  "retranscribed", "moved"}: the diff from the previous release (services/diff.py)
- prelabel: {"regions", "from_model", "accepted_unchanged"}: regions a project model suggested
- baseline: {"backend", "task", "recipe", "accuracy", "macro_f1", "chance", "train_examples", "test_examples"}
  or {"error"}: the default model trained on the train split, scored on the test split

Output depends only on `stats` (sorted where the input has no order), so a
rebuild gives the same README.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

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


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _counts(counts: Mapping[str, int]) -> list[list[Any]]:
    return [[k, v] for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _ordered_splits(splits: Mapping[str, Any]) -> list[str]:
    return [s for s in SPLIT_ORDER if s in splits] + sorted(s for s in splits if s not in SPLIT_ORDER)


def render_data_card(stats: Mapping[str, Any]) -> str:
    splits = stats.get("splits", {})
    order = _ordered_splits(splits)
    title = stats.get("name", "Earmark dataset release")
    if stats.get("version") is not None:
        title += f" (version {stats['version']})"
    out = [f"# {title}", ""]
    out += [
        stats.get("description")
        or "An audio dataset release built by Earmark from consented recordings and reviewed annotations.",
        "",
    ]
    if stats.get("license"):
        out += [f"License: {stats['license']}", ""]
    if stats.get("format") in USAGE:
        out += ["## How to load", "", f"Format `{stats['format']}`: {USAGE[stats['format']]}", ""]

    out += ["## Splits", ""]
    rows = [[s, splits[s].get("items", 0), f"{splits[s].get('hours', 0.0):.2f}", splits[s].get("speakers", 0)] for s in order]
    rows.append(["total", sum(r[1] for r in rows), f"{sum(splits[s].get('hours', 0.0) for s in order):.2f}", ""])
    out += _table(["split", "items", "hours", "speakers"], rows) + [""]
    out += ["Splits are speaker-disjoint: every speaker's items are in one split.", ""]

    speakers = stats.get("speakers") or {}
    out += ["## Speakers", ""]
    if "count" in speakers:
        out += [f"{speakers['count']} speakers, identified only by pseudonymous codes.", ""]
    for field, counts in sorted((speakers.get("demographics") or {}).items()):
        out += [f"### {field.replace('_', ' ').capitalize()}", ""] + _table([field, "speakers"], _counts(counts)) + [""]
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
        + ". Recordings that name no speaker were included without a consent grant; no speech detector has "
          "checked them, so they may contain voices.",
        "",
    ]
    out += ["## Collection", "", stats.get("collection") or "Not described.", ""]
    out += ["## Annotation", "", stats.get("annotation") or "Not described.", ""]
    agreement = stats.get("agreement") or {}
    if agreement:
        out += ["### Agreement", ""] + _table(["metric", "value"], sorted([k, v] for k, v in agreement.items())) + [""]

    changes = stats.get("changes")
    if changes:
        why = ", ".join(f"{n} {r}" for r, n in sorted((changes.get("removed_by_reason") or {}).items()) if n)
        out += [f"## Changes since version {changes['against_version']}", ""]
        out += _table(["change", "examples"], [
            ["added", changes.get("added", 0)], ["removed" + (f" ({why})" if why else ""), changes.get("removed", 0)],
            ["relabelled", changes.get("relabelled", 0)], ["re-transcribed", changes.get("retranscribed", 0)],
            ["moved between splits", changes.get("moved", 0)],
        ]) + [""]  # fmt: skip
    prelabel = stats.get("prelabel") or {}
    if prelabel.get("regions"):
        share = prelabel["from_model"] / prelabel["regions"]
        unchanged = prelabel["accepted_unchanged"] / prelabel["regions"]
        out += ["### Pre-labelling", "",
                f"{prelabel['from_model']} of {prelabel['regions']} labelled regions ({share:.1%}) came from a project "
                f"model's suggestions; {prelabel['accepted_unchanged']} ({unchanged:.1%}) were accepted unchanged "
                "(same label and times as suggested).", ""]
    baseline = stats.get("baseline")
    if baseline:
        out += ["## Baseline", ""]
        if baseline.get("error"):
            out += [f"No baseline: {_cell(baseline['error'])}", ""]
        else:
            recipe = ", ".join(f"{k}={v}" for k, v in sorted((baseline.get("recipe") or {}).items()))
            out += [f"Earmark's default {baseline['task']} model ({baseline['backend']}), trained on the train split "
                    f"({baseline.get('train_examples')} examples) and scored on the test split "
                    f"({baseline.get('test_examples')} examples, speakers it never saw):", ""]
            out += _table(["metric", "value"], [["accuracy", f"{baseline['accuracy']:.3f}"],
                                                ["macro-F1", f"{baseline['macro_f1']:.3f}"],
                                                ["chance (commonest label)", f"{baseline['chance']:.3f}"]]) + [""]
            out += [f"Recipe: {_cell(recipe)}.", ""]

    out += ["## Known limitations", ""]
    out += [f"- {_cell(x)}" for x in [*(stats.get("limitations") or []), LIMITATION_WITHDRAWAL]] + [""]

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
