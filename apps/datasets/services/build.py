"""release_build: freeze the manifest, write every format to storage, re-check consent, publish.

Consent is checked three times: the manifest is selected through the consent
selector; each example's recording is fetched through it again just before its
audio is read; and after every file is written, one transaction locks the
release row and checks that every recording in the manifest is still usable
and that no withdrawal marked the release meanwhile. A withdrawal that commits
after that check finds the release's items and marks it (downloads blocked).
If any check fails the written files are deleted and the release fails with a
sentence saying why: never a release that includes a withdrawn speaker.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import hmac
import io
import json
import logging
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import NamedTuple

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.annotation.models import Region
from apps.annotation.selectors import release_words
from apps.catalog.models import Speaker
from apps.collection.selectors import release_clip_rows
from apps.consent.models import ProjectConsentPolicy
from apps.consent.purposes import PURPOSE_BITS, Purpose, mask_to_purposes
from apps.consent.selectors import recordings_usable, speech_verdicts
from apps.core.errors import DomainError
from apps.core.hooks import RELEASE_PUBLISHED, hook_call
from apps.core.leases import lease_heartbeat, work_claim, work_expired, work_renew
from apps.datasets.formats import Example, render_data_card, write_release
from apps.datasets.formats.words import words_clip
from apps.datasets.models import DatasetRelease, ReleaseItem, ReleaseStatus
from apps.datasets.services.audio import CopiedFlac, EncodedAudio, SourceKeys, audio_encode, flac_open_copy
from apps.datasets.services.diff import release_diff, release_previous
from apps.datasets.services.features import FeatureReader
from apps.datasets.services.releases import split_items
from apps.datasets.services.selection import candidates_select
from apps.datasets.services.storage import StorageSink, storage_delete_prefix, storage_local_root
from apps.datasets.splits import SplitItem, assign_splits, empty_split_warnings, split_stats
from apps.learning.services import model_create, model_train
from apps.processing.services import project_recipe_get
from apps.review.agreement import project_agreement
from apps.review.models import QAResult
from apps.review.selectors import text_transforms_of

log = logging.getLogger(__name__)
CHUNK = 500
# Examples per consent re-read during writing: Django takes ~3 ms to build the consent selector's query, so
# chunks of 500 spent 60 ms of a 10,000-clip build compiling it 20 times (measured); 2,000 ids stay far below
# SQLite's cap on parameters.
RECHECK_CHUNK = 2000
WITHDRAWN_DURING_BUILD = (
    "Consent for {n} recording(s) was withdrawn while this release was being built, so it was not published and "
    "its files were deleted. Build a new version to release the data without them."
)


class BuildAborted(Exception):
    """Consent changed under the build: stop, delete what was written, fail the release."""


class BuildLost(Exception):
    """This run no longer holds the build (its lease ran out and another run took it over): stop quietly."""


def _progress(release_id: int, token: str, stage: str, percent: float) -> None:
    if not DatasetRelease.objects.filter(id=release_id, claim_token=token, status=ReleaseStatus.BUILDING).update(
        stage=stage, progress=round(percent, 1)
    ):
        raise BuildLost(f"release {release_id} is no longer built by this run")


class _Inline:
    """An executor that runs each call at once, in the caller's thread (the work's result in a done Future)."""

    def submit(self, fn, *args) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:
            done.set_exception(exc)
        return done


class FrozenItem(NamedTuple):
    """One manifest row as the build uses it (the ReleaseItem row holds the same values)."""

    key: str
    split: str
    recording_ref: int
    annotation_ref: int | None
    annotation_version: int | None
    region_uid: str
    start: float
    end: float | None
    speaker_code: str
    language: str
    text: str
    labels: list
    duration: float
    audio_sha256: str


_LABELS = FrozenItem._fields.index("labels")

# json.dumps with an option builds a new encoder per call (10,000 per build); one encoder gives the same text.
_ITEM_JSON = json.JSONEncoder(ensure_ascii=False).encode


def _item_hash(item: FrozenItem) -> str:
    return _ITEM_JSON(
        [
            item.key,
            item.split,
            item.recording_ref,
            item.annotation_ref,
            item.annotation_version,
            item.region_uid,
            item.start,
            item.end,
            item.text,
            item.labels,
            item.audio_sha256,
        ]
    )


def _items_insert(release_id: int, items: list[FrozenItem]) -> None:
    """Insert the manifest with one prepared statement per chunk.

    (bulk_create compiles every row's 17 values through the ORM: 2 s for 10,000 rows, a quarter of a build.)
    """
    quote = connection.ops.quote_name
    columns = ("release_id", "recording_id", *FrozenItem._fields, "example_sha256")  # that one is set at publish
    sql = (
        f"INSERT INTO {quote(ReleaseItem._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    field = ReleaseItem._meta.get_field("labels")
    prepped: dict[tuple, object] = {}  # labels -> their database value: releases repeat a few label sets

    def labels(values):
        key = tuple(values)
        if key not in prepped:
            prepped[key] = field.get_db_prep_save(values, connection)
        return prepped[key]

    with connection.cursor() as cursor:
        for start in range(0, len(items), CHUNK):
            cursor.executemany(
                sql,
                # The item's fields with its labels' database value (by position: _replace was a third of this)
                [
                    (release_id, i.recording_ref, *i[:_LABELS], labels(i[_LABELS]), *i[_LABELS + 1 :], "")
                    for i in items[start : start + CHUNK]
                ],
            )


def _freeze_manifest(release: DatasetRelease) -> tuple[list[FrozenItem], list[SplitItem]]:
    """The manifest: the examples the consent selector and the spec select now, each in its split (no rows yet),
    and what the split code read of them (the card's split statistics count the same)."""
    spec = release.spec
    candidates = candidates_select(project_id=release.project_id, spec=spec)
    if not candidates:
        raise BuildAborted("Nothing is left to release: no usable recording matches the spec any more.")
    by_split = split_items(candidates)
    assignment = assign_splits(by_split, spec["splits"], seed=spec["seed"])
    items = [
        FrozenItem(
            c.key,
            assignment[c.key],
            c.recording_id,
            c.annotation_id,
            c.annotation_version,
            c.region_uid,
            c.start,
            c.end,
            c.speaker_code,
            c.language,
            c.text,
            list(c.labels),
            c.duration,
            c.audio_sha256,
        )
        for c in candidates
    ]
    return items, by_split


def _manifest_store(release_id: int, items: list[FrozenItem]) -> None:
    """Replace the release's manifest rows with ``items`` in one transaction (the build runs it on its database
    lane, while the first examples are written: nothing before publishing reads these rows)."""
    with transaction.atomic():
        ReleaseItem.objects.filter(release_id=release_id).delete()
        _items_insert(release_id, items)


def _target_rate(release: DatasetRelease) -> int | None:
    """The spec's rate, else the project's target rate (one rate per release: the Audio feature states one).

    Processed audio (source "recipe") is already at the recipe's rate: None keeps it.
    """
    audio = release.spec["audio"]
    if audio["sample_rate"] or audio.get("source") == "recipe":
        return audio["sample_rate"]
    return release.project.target_sample_rate


def speaker_pseudonym(salt: str | None, code: str) -> str:
    """What a release calls a speaker: the project's code, or in public releases a pseudonym salted per release.

    HMAC-SHA256 keyed with the release's salt: the same speaker gets one pseudonym within a release (and its
    rebuilds, which copy the spec) and unrelated ones in other releases, so public releases cannot be linked
    by speaker, nor a pseudonym turned back into a code without the salt.
    """
    if not code or not salt:
        return code
    return "spk-" + hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()[:12]


CLIP_LIST_COLUMNS = (
    "client_id",
    "path",
    "split",
    "sentence_id",
    "sentence",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "locale",
)


def _clip_lists(release: DatasetRelease, items: list[FrozenItem]) -> dict[str, bytes]:
    """validated.tsv and invalidated.tsv, like Common Voice's, for a release that selects campaign clips.

    One row per clip of the campaign (or the project's campaigns) whose recording consent lets this release use,
    in that state; ``path`` and ``split`` name the example when the clip is in the release (empty otherwise:
    an invalidated clip is listed, not shipped, unless the spec asked for every clip). Speakers are named as in
    the release (pseudonyms in public releases). Read with ``pandas.read_csv(path, sep="\t",
    keep_default_na=False)``.
    """
    f = release.spec["filters"]
    if f.get("campaign") is None and f.get("validation", "any") == "any":
        return {}
    salt = release.spec.get("pseudonym_salt")
    ext = release.spec["audio"]["format"]
    shipped = {i.recording_ref: i for i in items if not i.region_uid}
    tables: dict[str, list] = {"validated": [], "invalidated": []}
    for row in release_clip_rows(
        project_id=release.project_id, purpose=release.spec["purpose"], campaign_id=f.get("campaign")
    ):
        if row["state"] not in tables:
            continue
        item = shipped.get(row["recording_id"])
        tables[row["state"]].append(
            [
                speaker_pseudonym(salt, row["contributor__speaker__code"]),
                f"{item.key}.{ext}" if item else "",
                item.split if item else "",
                row["prompt__key"],
                row["prompt__text"],
                row["up_votes"],
                row["down_votes"],
                row["contributor__speaker__age_band"],
                row["contributor__speaker__gender"],
                row["contributor__speaker__accent"],
                row["prompt__language__tag"],
            ]
        )
    out = {}
    for name, rows in tables.items():
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        writer.writerow(CLIP_LIST_COLUMNS)
        writer.writerows(rows)
        out[f"{name}.tsv"] = buf.getvalue().encode()
    return out


class _Source(NamedTuple):
    """What the build reads of a recording (the fields SourceKeys and FeatureReader use)."""

    id: int
    project_id: int
    original_key: str
    sha256: str
    copy_sha256: str


# Read-ahead of source audio: opening and reading thousands of small files is system-call time that a thread
# overlaps with building examples (file reads release the GIL). Sources are opened in batches of READ_AHEAD
# (one hand-off per batch: a hand-off per file made the two threads trade the GIL after every one), at most
# two batches ahead of the writer, each source with at most READ_AHEAD_BYTES read into memory (a local source
# that small is read whole at once: storage_open_read), so memory stays bounded whatever the recordings' length.
# (Opening them in the writing thread instead used less CPU but took longer under load: measured, 2 rounds.)
READ_AHEAD = 32
READ_AHEAD_BYTES = 1 << 20


@contextmanager
def _reader(local_root: str | None):
    """Where sources are opened ahead: a thread for remote storage (each open is a network round trip it
    overlaps), this thread for local files. A local clip is four system calls (open, fstat, read, close) and a
    sha256, each of which lets go of the interpreter lock, and a reader thread had to win it back from the
    writing thread after every one: the writer waited on the reader for 0.45-0.68 s of a 0.8-1.1 s write of
    10,000 clips, and the webdataset build on SQLite took 1.10-1.14 s with the thread against 0.98-1.03 s
    without (benchmarks/export.py's clips, alternated runs)."""
    if local_root is not None:
        yield _Inline()
        return
    with ThreadPoolExecutor(1, thread_name_prefix="release-read") as pool:
        yield pool


def _open_ahead(
    batch: list[tuple[str, float, float | None, str]], fmt: str, rate: int | None, root: str | None
) -> list[CopiedFlac | None]:
    """flac_open_copy of each (key, start, end, digest), with the first READ_AHEAD_BYTES already read (a short
    clip: all of it). None where the source must be transcoded (audio_encode, on the writing thread). ``root``:
    local storage's folder (storage_local_root), or None. ``digest``: the copy's sha256 taken at ingest
    (Recording.copy_sha256; "" when unknown or the key is not the original's)."""
    out: list[CopiedFlac | None] = []
    try:
        for key, start, end, digest in batch:
            src = flac_open_copy(
                key=key,
                start=start,
                end=end,
                sample_rate=rate,
                audio_format=fmt,
                whole_below=READ_AHEAD_BYTES,
                local_root=root,
            )
            if src is not None:
                out.append(src)  # before read_ahead: closed below if reading fails
                src.read_ahead(READ_AHEAD_BYTES)
                # A clip read whole is the copy ingest hashed (Recording.copy_sha256: the same bytes, made by the
                # same flac_header_in), else it is hashed here, once. The writers report this digest
                # (Example.audio_sha256) instead of hashing it again on their lanes (webdataset build of 10,000
                # clips: ~10 % less time and CPU each, the digest taken here against the lanes, then ingest's
                # against taking it here; measured in alternating runs).
                if (whole := src.whole) is not None:
                    src.sha256 = digest or hashlib.sha256(whole).hexdigest()
            else:
                out.append(None)
    except BaseException:
        for src in out:
            if src is not None:
                src.close()
        raise
    return out


def _source_of(sources: SourceKeys, rec: _Source, item: FrozenItem) -> tuple[str, float, float | None, str]:
    """An item's (storage key, start, end, the copy's digest from ingest when the key is the original's)."""
    key = sources.key_for(rec)
    return key, item.start, item.end, rec.copy_sha256 if key == rec.original_key else ""


def _recordings_again(purpose: str, ids: set[int]) -> dict[int, _Source]:
    """Those of ``ids`` the consent selector still lets this release use, read now.

    Not a subquery on the manifest rows (they are still being stored meanwhile: _manifest_store). Ids that
    are mostly consecutive (a release of most of a project) are asked for as their range, two parameters, and
    the few others in it dropped here; otherwise as an id list, whose parameters Django compiles one by one
    (2,000 of them: 2.5 ms, and SQLite's search of the list). Either way at most twice as many rows as ids.
    """
    first, last = min(ids), max(ids)
    usable = recordings_usable(None, purpose)
    if last - first < 2 * len(ids):
        usable = usable.filter(id__gte=first, id__lte=last)
    else:
        usable = usable.filter(id__in=sorted(ids))
    return {row[0]: _Source(*row) for row in usable.values_list(*_Source._fields) if row[0] in ids}


def _examples(release: DatasetRelease, items: list[FrozenItem], on_progress):
    spec = release.spec
    # Subqueries, not id lists: SQLite caps a query's parameters, and releases can be large.
    # Fetch the recordings again through the consent selector, chunk by chunk, just before use:
    # no audio of a chunk is opened (not even read ahead) before its recordings are read again.
    rate = _target_rate(release)
    salt = spec.get("pseudonym_salt")
    fmt = spec["audio"]["format"]
    features = FeatureReader(project_id=release.project_id, spec=spec)
    sources = SourceKeys(project_id=release.project_id, spec=spec)
    words = release_words(items)  # word timings of the frozen transcripts (forced alignment), by example key
    root = storage_local_root()
    chunks = [items[first : first + RECHECK_CHUNK] for first in range(0, len(items), RECHECK_CHUNK)]
    purpose = spec["purpose"]
    # The first chunk's recordings are read again here; each next chunk's on a database thread while this chunk
    # is written (still before any of its audio is opened): that query took the writing thread 10-70 ms a chunk,
    # waiting for the interpreter lock after every row it fetched.
    again = _Inline().submit(_recordings_again, purpose, {i.recording_ref for i in chunks[0]}) if chunks else Future()
    with _reader(root) as reader, _DbLane("release-recheck") as recheck:
        for c, part in enumerate(chunks):
            first = c * RECHECK_CHUNK
            recs = again.result()
            if c + 1 < len(chunks):
                again = recheck.submit(_recordings_again, purpose, {i.recording_ref for i in chunks[c + 1]})
            sources.prefetch(recs.values())
            features.prefetch(recs.values())
            if any(item.recording_ref not in recs for item in part):
                raise BuildAborted(WITHDRAWN_DURING_BUILD.format(n=1))
            batches = [
                [_source_of(sources, recs[i.recording_ref], i) for i in part[b : b + READ_AHEAD]]
                for b in range(0, len(part), READ_AHEAD)
            ]
            ahead: deque[Future] = deque(reader.submit(_open_ahead, b, fmt, rate, root) for b in batches[:2])
            opened: deque[CopiedFlac | None] = deque()
            try:
                for n, item in enumerate(part, start=first):
                    if not opened:
                        opened.extend(ahead.popleft().result())
                        done = (n - first) // READ_AHEAD + 1
                        if done + 1 < len(batches):
                            ahead.append(reader.submit(_open_ahead, batches[done + 1], fmt, rate, root))
                    rec = recs[item.recording_ref]
                    # A source that already is the wanted audio streams straight into the release; anything else
                    # is cut/resampled/encoded into a temporary file first. The writers hash what they write.
                    src: CopiedFlac | EncodedAudio | None = opened.popleft()
                    if src is None:
                        src = audio_encode(
                            key=sources.key_for(rec), start=item.start, end=item.end, sample_rate=rate, audio_format=fmt
                        )
                    arrays = features.for_example(rec, start=item.start, end=item.end)
                    try:
                        yield Example(
                            key=item.key,
                            split=item.split,
                            # a short clip read whole: its bytes (nothing left to read from a file)
                            audio=src.reader if isinstance(src, EncodedAudio) else (src.whole or src),  # type: ignore[arg-type]
                            audio_format=fmt,
                            sample_rate=src.sample_rate,
                            num_samples=src.num_samples,
                            channels=src.channels,
                            source_offset=item.start,
                            text=item.text,
                            labels=tuple(item.labels),
                            speaker=speaker_pseudonym(salt, item.speaker_code) or None,
                            language=item.language or None,
                            recording_id=str(item.recording_ref),
                            features=arrays,
                            extra={
                                "annotation_version": item.annotation_version,
                                "region_uid": item.region_uid or None,
                            },
                            words=words_clip(words.get(item.key, ()), src.num_samples / src.sample_rate),
                            audio_sha256=None if isinstance(src, EncodedAudio) else src.sha256,
                        )
                    finally:
                        src.close()
                    on_progress(n + 1)
            finally:
                # An error or an early stop: close what was opened ahead.
                for pending in ahead:
                    if not pending.cancel() and pending.exception() is None:
                        opened.extend(pending.result())
                for left in opened:
                    if left is not None:
                        left.close()


def _card_stats(release: DatasetRelease, items: list[FrozenItem], assignment: dict, by_split: list[SplitItem]) -> dict:
    """The data card's figures. ``by_split``: the split code's view of ``items`` (`split_items`); the card counts
    speakers per split by code, which gives the same numbers as counting their pseudonyms (one per code)."""
    spec = release.spec
    salt = spec.get("pseudonym_salt")
    splits = split_stats(by_split, assignment)
    codes = {i.speaker_code for i in items if i.speaker_code}
    # Codes are unique in a project: the project's speakers read as plain tuples and matched by code in Python
    # (a join through the manifest with DISTINCT took 0.13 s at 10,000 items on SQLite).
    demographics: dict[str, Counter] = {"gender": Counter(), "age_band": Counter()}
    for code, gender, age_band in (
        Speaker.objects.filter(project_id=release.project_id).values_list("code", "gender", "age_band").order_by()
    ):
        if code in codes:
            demographics["gender"][gender or "not given"] += 1
            demographics["age_band"][age_band or "not given"] += 1
    f = spec["filters"]
    leaks = release.stats.get("leakage_warnings", [])
    limitations = list(release.stats.get("warnings", []))
    limitations += (
        [
            f"{len(leaks)} near-duplicate pair(s) sit in different splits (QA fingerprint): "
            + ", ".join(f"{a}/{b}" for a, b in leaks[:10])
        ]
        if leaks
        else []
    )
    if f["qa"] == "any":
        limitations.append("Recordings flagged by automatic QA were not excluded.")
    public = spec["purpose"] == Purpose.PUBLIC_RELEASE
    processing = _processing(release.project)
    return {
        "name": release.name,
        "version": release.version,
        "splits": splits,
        "description": spec.get("description") or "",
        "license": spec.get("license") or "",
        "citation": spec.get("citation") or "",
        "speakers": {
            "count": len(codes),
            "demographics": {k: dict(v) for k, v in demographics.items()},
            "pseudonymised": bool(salt),
            **({"k_anonymity": K_ANONYMITY} if public else {}),
        },
        "consent_purposes": _purposes_required(release.project_id, spec["purpose"]),
        "speakerless": speech_verdicts(recording_ids={i.recording_ref for i in items if not i.speaker_code}),
        "collection": f"{len({i.recording_ref for i in items})} recordings of project {release.project.name!r}, "
        "ingested into Earmark and kept only while their speakers' consent holds.",
        "annotation": (
            "Whole recordings; labels are clip labels plus region labels, text joins the region transcripts."
            if spec["unit"] == "recording"
            else f"One example per labelled region, cut with a {spec['margin']:g} s margin."
        )
        + (
            " Only annotations accepted in review."
            if f["accepted_only"]
            else " Accepted annotations, else the latest submitted one."
        )
        + (_transcript_note(release.project_id) if any(i.text for i in items) else ""),
        "agreement": _agreement(release.project_id),
        "limitations": limitations,
        "prelabel": _prelabel_stats(items),
        **({"baseline": _baseline(release, items)} if spec.get("baseline") else {}),
        "audio": {
            "format": spec["audio"]["format"],
            "sample_rate": _target_rate(release) or processing["audio"].get("target_sample_rate"),
            "source": spec["audio"].get("source", "original"),
        },
        "processing": processing,
        "features": list(spec.get("features") or []),
        "has_text": any(i.text for i in items),
        "formats": list(spec["formats"]),
    }


def _transcript_note(project_id: int) -> str:
    """How the card's WER/CER normalise text (the project's jiwer transforms) and where word timings come from."""
    return (
        f" WER and CER normalise text with jiwer's {', '.join(text_transforms_of(project_id=project_id))}."
        " Word timings come from forced alignment of the transcripts (PocketSphinx for English, or a registered"
        " engine); examples whose text could not be aligned carry none."
    )


def _prelabel_stats(items: list[FrozenItem]) -> dict:
    """How many of the release's labelled regions a model suggested, and how many were accepted unchanged."""
    refs: set[tuple[int, str | None]] = {
        (i.annotation_ref, i.region_uid) for i in items if i.annotation_ref and i.region_uid
    }
    if not refs:
        refs = {(i.annotation_ref, None) for i in items if i.annotation_ref}
    by_annotation = {a for a, _ in refs}
    total = from_model = unchanged = 0
    rows = Region.objects.filter(annotation_id__in=by_annotation).values_list(
        "annotation_id", "uid", "label_id", "start", "end", "source"
    )
    for annotation_id, uid, label_id, start, end, source in rows.iterator(chunk_size=2000):
        if (annotation_id, uid) not in refs and (annotation_id, None) not in refs:
            continue
        total += 1
        if source:
            from_model += 1
            unchanged += (
                source.get("label") == label_id
                and abs(source.get("start", -1) - start) < 0.0005
                and abs(source.get("end", -1) - end) < 0.0005
            )
    return {"regions": total, "from_model": from_model, "accepted_unchanged": unchanged}


def _baseline(release: DatasetRelease, items: list[FrozenItem]) -> dict | None:
    """Train the default model on the release's train split (validation joins it) and score it on its test split."""
    wanted = release.spec.get("baseline")
    if not wanted:
        return None
    split = {}
    for i in items:
        split[i.recording_ref] = "test" if i.split == "test" else "train"
    task = "region" if release.spec["unit"] == "region" else "clip"
    try:
        created = model_create(
            project_id=release.project_id,
            actor=None,
            task=task,
            backend=wanted["backend"],
            release_id=release.id,
            enqueue=False,
        )
    except DomainError as exc:
        return {"error": exc.message}
    model = model_train(model_id=created.id, split=split)
    if model is None or model.state != "ready":
        return {"model": model.id if model else None, "error": model.error if model else "not trained"}
    m = model.metrics
    return {
        "model": model.id,
        "version": model.version,
        "backend": model.backend,
        "task": task,
        "recipe": model.recipe,
        "accuracy": m.get("accuracy"),
        "macro_f1": m.get("macro_f1"),
        "chance": m.get("chance"),
        "test_examples": m.get("n"),
        "train_examples": (model.counts or {}).get("train", {}).get("examples"),
    }


K_ANONYMITY = 5


def _processing(project) -> dict:
    """The project's active recipe as the card states it: its id and the parameters that shape audio and features."""
    recipe = project_recipe_get(project=project)  # the default recipe when the project never processed
    keep = ("target_sample_rate", "channels", "trim", "normalise", "length")
    return {
        "name": recipe.name,
        "hash": recipe.spec_hash[:12],
        "audio": {k: recipe.spec.get(k) for k in keep if k in recipe.spec},
        "features": recipe.spec.get("features") or {},
        "feature_dtype": recipe.spec.get("feature_dtype", "float32"),
    }


def _purposes_required(project_id: int, purpose: str) -> list[str]:
    """What every speaker in the release had granted: the project's consent policy for this purpose."""
    policy = ProjectConsentPolicy.objects.filter(project_id=project_id).first()
    mask = policy.mask_for(purpose) if policy else PURPOSE_BITS["store"] | PURPOSE_BITS[purpose]
    return mask_to_purposes(mask)


def _agreement(project_id: int) -> dict:
    """Project-wide inter-annotator agreement from the review app, when overlapping annotations exist."""
    found = project_agreement(actor=None, project_id=project_id)
    if not found.get("overlap_units"):
        return {}
    clip, regions, texts = found.get("clip_labels") or {}, found.get("regions") or {}, found.get("transcripts") or {}
    figures = {
        "overlapping recordings": found["overlap_units"],
        "clip labels: Krippendorff's alpha": clip.get("krippendorff_alpha"),
        "clip labels: Fleiss' kappa": clip.get("fleiss_kappa"),
        f"regions: F1 at IoU >= {found.get('iou_threshold')}": regions.get("f1"),
        "transcripts: WER": texts.get("wer"),
        "transcripts: CER": texts.get("cer"),
    }
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items() if v is not None}


def _leakage(release_id: int, items: list[FrozenItem]) -> list[list[str]]:
    """Pairs of recordings the QA fingerprint calls near-duplicates that ended up in different splits."""
    split_of = {i.recording_ref: i.split for i in items}
    refs = ReleaseItem.objects.filter(release_id=release_id).values("recording_ref")
    pairs = QAResult.objects.filter(recording_id__in=refs, near_duplicate_of__isnull=False)
    out = []
    for rid, other in pairs.values_list("recording_id", "near_duplicate_of_id"):
        if other in split_of and split_of[other] != split_of[rid]:
            out.append(sorted([f"r{rid:08d}", f"r{other:08d}"]))
    return sorted(out)


def _publish(release: DatasetRelease, token: str, items: list[FrozenItem], sums: dict, fields: dict) -> None:
    with transaction.atomic():
        locked = DatasetRelease.objects.select_for_update().get(id=release.id)
        if locked.claim_token != token or locked.status != ReleaseStatus.BUILDING:
            raise BuildLost(f"release {release.id} is no longer built by this run")
        refs = {i.recording_ref for i in items}
        in_manifest = ReleaseItem.objects.filter(release=release).values("recording_ref")
        usable = set(
            recordings_usable(None, release.spec["purpose"]).filter(id__in=in_manifest).values_list("id", flat=True)
        )
        gone = refs - usable
        if gone or locked.needs_rebuild:
            raise BuildAborted(WITHDRAWN_DURING_BUILD.format(n=len(gone) or 1))
        # executemany rather than bulk_update: its CASE expressions cost ~0.7 ms a row (10,000 rows: 7 s).
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(ReleaseItem._meta.db_table)} SET example_sha256 = %s "
                f"WHERE release_id = %s AND {quote('key')} = %s",
                [(sums[item.key], release.id, item.key) for item in items],
            )
        DatasetRelease.objects.filter(id=release.id).update(
            status=ReleaseStatus.READY,
            stage="done",
            progress=100.0,
            finished_at=timezone.now(),
            error="",
            lease_expires_at=None,
            **fields,
        )
        hook_call(RELEASE_PUBLISHED, release_id=release.id, project_id=release.project_id, version=release.version)


def release_fail(*, release_id: int, message: str, token: str | None = None) -> None:
    """Mark the release failed, delete its files and its manifest (no withdrawn data lingers).

    With ``token``, only while that run still holds the build (a run that lost it must not delete the files
    of the run that took over).
    """
    release = DatasetRelease.objects.filter(id=release_id).first()
    if release is None or (token is not None and release.claim_token != token):
        return
    storage_delete_prefix(release.storage_prefix)
    with transaction.atomic():
        ReleaseItem.objects.filter(release_id=release_id).delete()
        DatasetRelease.objects.filter(id=release_id).update(
            status=ReleaseStatus.FAILED,
            stage="failed",
            error=message,
            finished_at=timezone.now(),
            lease_expires_at=None,
        )


@contextmanager
def _older_objects_not_rescanned():
    """Leave the objects that exist before the build out of the cyclic garbage collector's passes until it ends.

    A build allocates tens of thousands of small containers (manifest rows, split items, examples), so the
    collector runs hundreds of times; each full pass walked every object of the process as well (Django's, the
    app's: ~150,000), which was a tenth of a 10,000-clip build's CPU (measured: 1.67 s against 1.49 s, and
    the manifest freeze 0.18 s against 0.10 s). ``gc.freeze`` moves them to the permanent generation; the
    build's own garbage is still collected as usual, and ``gc.unfreeze`` hands them back afterwards.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def release_build(*, release_id: int, on_progress=None) -> DatasetRelease | None:
    """Build a queued release into storage (all its formats); writes items, files, card; fails safely.

    Claims the build with a lease renewed by a heartbeat; a build whose worker died (lease expired) is
    taken over by the next run, which deletes the dead run's partial files and starts over.
    """
    token = work_claim(
        DatasetRelease,
        pk=release_id,
        queued=ReleaseStatus.QUEUED,
        running=ReleaseStatus.BUILDING,
        stage="selecting",
        progress=0.0,
        started_at=timezone.now(),
    )
    if token is None:
        log.info("release %s is not queued (or another run holds it); nothing to build", release_id)
        return None
    release = DatasetRelease.objects.select_related("project").get(id=release_id)
    if release.attempts > 1:  # a killed run's partial files: never mixed into this run's
        storage_delete_prefix(release.storage_prefix)
    try:
        with (
            _older_objects_not_rescanned(),
            lease_heartbeat(
                lambda: work_renew(DatasetRelease, pk=release_id, token=token, running=ReleaseStatus.BUILDING)
            ),
        ):
            _build(release, token, on_progress)
    except BuildLost:
        log.warning("release %s: lost its build to another run; stopping", release_id)
        return None
    except (BuildAborted, DomainError) as exc:
        release_fail(release_id=release_id, message=str(exc), token=token)
    except Exception as exc:
        log.exception("release %s failed", release_id)
        release_fail(
            release_id=release_id,
            token=token,
            message=(
                f"The build stopped on an unexpected error ({type(exc).__name__}: {exc}); its files were deleted. "
                "Build it again (rebuild) once the cause is fixed."
            ),
        )
        raise
    release.refresh_from_db()
    return release


class _DbLane:
    """Database reads that run while the writers write (a thread with its own connection), or inline.

    The card's statistics, the leakage and empty-split warnings and the diff against the previous release
    need only the frozen manifest, so they overlap with the writing lanes instead of adding to them. A thread
    has its own database connection and cannot see rows of a transaction still open on this one (a caller's
    ``atomic`` block, or a test's): then the work runs inline, in the same order as before. So it does on
    SQLite, which runs in this process: its queries and their rows are work under the interpreter lock that a
    thread only trades with the writers (10,000 clips: the manifest stored in 0.12 s inline, 0.36 s on the lane,
    and the writers slower by about the difference; measured). PostgreSQL's reads are mostly waits on the
    server, which the lane overlaps.
    """

    def __init__(self, name: str = "release-db") -> None:
        inline = connection.in_atomic_block or connection.vendor == "sqlite"
        self.pool = None if inline else ThreadPoolExecutor(1, thread_name_prefix=name)

    def submit(self, fn, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(self._run, fn, *args)
        return _Inline().submit(fn, *args)

    @staticmethod
    def _run(fn, *args):
        try:
            return fn(*args)
        finally:
            connections.close_all()  # this thread's connections only

    def __enter__(self) -> _DbLane:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _side_stats(
    release: DatasetRelease, items: list[FrozenItem], assignment: dict, by_split: list[SplitItem]
) -> tuple[dict, dict, dict | None]:
    """(release.stats warnings, the card, the diff's summary or None): the reads the build overlaps."""
    stats = {
        "leakage_warnings": _leakage(release.id, items),
        "warnings": empty_split_warnings(by_split, assignment, release.spec["splits"]),
    }
    release.stats = stats
    card = _card_stats(release, items, assignment, by_split)
    previous = release_previous(release=release)
    changes = None
    if previous is not None:
        diff = release_diff(release=release, other=previous, items=items)
        changes = {"against": previous.id, "against_version": previous.version, **diff["summary"]}
    return stats, card, changes


def _build(release: DatasetRelease, token: str, on_progress) -> None:
    release_id = release.id
    items, by_split = _freeze_manifest(release)
    with _DbLane() as lane:
        # The manifest rows are stored, then the card, warnings and diff computed, on the database lane while
        # the examples are written; the rows are in place before anything reads them (publish waits for both).
        stored = lane.submit(_manifest_store, release_id, items)
        _write(release, token, on_progress, items, by_split, lane, stored)


def _write(
    release: DatasetRelease,
    token: str,
    on_progress,
    items: list[FrozenItem],
    by_split: list[SplitItem],
    lane,
    stored: Future,
) -> None:
    release_id = release.id
    assignment = {i.key: i.split for i in items}
    total = len(items)
    step = max(1, total // 100)
    last, every = [time.monotonic()], settings.EARMARK_RELEASE_PROGRESS_SECONDS

    def progress(n: int) -> None:
        # Each percent, at most every EARMARK_RELEASE_PROGRESS_SECONDS: a progress write is a committed UPDATE (and
        # the check that this run still holds the build); 100 of them were an eighth of a 10,000-clip build on SQLite.
        if n == total or (n % step == 0 and time.monotonic() - last[0] >= every):
            _progress(release_id, token, "writing", 5 + 90 * n / total)
            last[0] = time.monotonic()
        if on_progress is not None:
            on_progress(n, total)

    _progress(release_id, token, "writing", 5.0)
    spec = release.spec
    sinks = {fmt: StorageSink(f"{release.storage_prefix}{fmt}") for fmt in spec["formats"]}
    split_counts = dict(Counter(assignment.values()))
    options: dict[str, dict] = {"webdataset": {"max_shard_bytes": int(spec["webdataset"]["shard_mb"] * (1 << 20))}}
    if all(len(i.labels) == 1 for i in items):
        options["hf-parquet"] = {"class_names": sorted({i.labels[0] for i in items})}
    sums: dict[str, str] = {}  # example key -> sha256 of its audio bytes, as the writers hashed them
    side = lane.submit(_side_stats, release, items, assignment, by_split)

    def file_card() -> dict:
        # The files' data card leaves out the version number, so the same spec rebuilt as a new
        # version gives byte-identical files; the API's card (below) names it.
        return {k: v for k, v in side.result()[1].items() if k != "version"}

    results = write_release(
        _examples(release, items, progress),
        sinks,
        split_counts=split_counts,
        options=options,
        card_stats=file_card,
        on_audio=sums.__setitem__,
        extra_files=_clip_lists(release, items) or None,
    )
    stored.result()
    release_stats, card, changes = side.result()
    _progress(release_id, token, "checking consent", 97.0)
    manifest_hash = hashlib.sha256("\n".join(_item_hash(i) for i in items).encode()).hexdigest()
    files = {
        fmt: {"checksum": r.checksum, "files": len(r.entries), "bytes": sum(e.size for e in r.entries)}
        for fmt, r in results.items()
    }
    stats = {
        "splits": card["splits"],
        "leakage_warnings": release_stats["leakage_warnings"],
        "warnings": release_stats["warnings"],
        "items": total,
        "speakers": card["speakers"]["count"],
    }
    if changes is not None:  # the API's card (not the files', which stay byte-identical) sums up the diff
        stats["diff"] = card["changes"] = changes
    data_card = render_data_card({**card, "checksum": manifest_hash})
    _publish(
        release,
        token,
        items,
        sums,
        {"files": files, "stats": stats, "content_hash": manifest_hash, "data_card": data_card},
    )


def releases_requeue_stale() -> int:
    """Sweeper: re-send builds whose worker died (lease expired); fail those interrupted too often.

    Returns how many were re-sent. Writes DatasetRelease (and deletes a failed build's files).
    """
    from apps.datasets.tasks import release_build_task

    resent = 0
    for release_id, attempts in work_expired(DatasetRelease, running=ReleaseStatus.BUILDING):
        if attempts >= settings.EARMARK_MAX_ATTEMPTS:
            release_fail(
                release_id=release_id,
                message=(
                    f"The build was interrupted {attempts} times (its worker died or hit its time limit) and was "
                    "stopped; its files were deleted. Build it again (rebuild) with more memory or time for the worker."
                ),
            )
            continue
        release_build_task.delay(release_id)
        resent += 1
    return resent
