"""Many files in one request: each read once and probed, their rows written a chunk at a time (issue 21).

A file's outcome is the one ``recording_ingest`` would give it alone (accepted, quarantined, duplicate,
rejected, with the same sentences); only the database work is shared: one duplicate lookup, one INSERT
and one processing-queue insert per chunk, and savepoints only around files that name a speaker or a
language (the rows a refusal must take back with it).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from itertools import islice

from django.db import IntegrityError, transaction

from apps.catalog.audio_probe import AudioProbe
from apps.catalog.models import Project, Recording
from apps.catalog.services.ingest import (
    FileSource,
    IngestResult,
    discard,
    duplicate_of,
    duplicate_result,
    file_read_and_probe,
    ingest_outcome,
    recording_admit,
    recording_build,
    sanitize_name,
    sidecar_lookup,
    store_once,
)
from apps.core.bulk import rows_insert
from apps.core.errors import DomainError
from apps.core.hooks import RECORDINGS_INGESTED, hook_call

# Files per transaction in a batch upload. Each chunk costs a recipe lookup, a commit and a fan-out message
# (issue 21: at 100, these were a visible share of a 1,000-file upload); its files' sources stay open until it
# commits, which costs no memory for uploads (Django holds them anyway).
_BATCH = 500


class _Duplicate(Exception):
    """The file's bytes are a recording of the project already, or an earlier file's of this chunk."""


@dataclass
class _Probed:
    index: int  # where its result goes
    name: str  # as given (the sidecar's key)
    clean: str
    source: FileSource  # closed when the chunk is done
    info: AudioProbe


@dataclass
class _Admitted:
    index: int
    clean: str
    recording: Recording  # saved by the chunk's INSERT
    held: str | None
    key: str
    wrote: bool


def recordings_ingest_many(
    *, project: Project, files, created_by=None, sidecar: dict | None = None, progress=None
) -> list[IngestResult]:
    """Ingest many (name, fileobj) pairs; a bad file never stops the batch.

    Files go in chunks of _BATCH: each file is read and probed outside any transaction, then the chunk's
    admitted files are stored and their rows inserted in one transaction with one processing-queue insert,
    so a thousand files cost a few dozen statements, not thousands. Side effects as ``recording_ingest``'s.
    """
    results: list[IngestResult] = []
    files = iter(files)
    while chunk := _ingest_chunk(project, islice(files, _BATCH), created_by, sidecar):
        results.extend(chunk)
        if progress:
            for result in chunk:
                progress(result)
    return results


def _ingest_chunk(project, files, created_by, sidecar) -> list[IngestResult]:
    results: list[IngestResult | None] = []
    probed: list[_Probed] = []
    written: list[str] = []
    try:
        for name, fileobj in files:
            clean = sanitize_name(name)
            opened = file_read_and_probe(fileobj, clean)
            if isinstance(opened, IngestResult):
                results.append(opened)
                continue
            probed.append(_Probed(len(results), name, clean, *opened))
            results.append(None)
        if probed:
            with transaction.atomic():
                admitted, copies = _admit_and_store(project, probed, results, created_by, sidecar, written)
                _insert(project, admitted, results)
                for index, clean, of in copies:  # bytes sent twice in one chunk: the later copy is a duplicate
                    results[index] = _duplicate_of_admitted(project, clean, of)
                hook_call(
                    RECORDINGS_INGESTED,
                    project=project,
                    recording_ids=[a.recording.pk for a in admitted if a.recording.pk and not a.held],
                )
    except BaseException:
        for key in written:  # the chunk's rows are gone, so are its objects
            discard(key, True)
        raise
    finally:
        for item in probed:
            item.source.close()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _admit_and_store(
    project, probed, results, created_by, sidecar, written
) -> tuple[list[_Admitted], list[tuple[int, str, _Admitted]]]:
    """Each probed file checked (duplicate, rules, consent) and its object stored; rows built, not saved.

    Returns the admitted files, and the later copies of bytes an admitted file of this chunk already has."""
    known = dict(
        Recording.objects.filter(project=project, sha256__in={p.source.sha256 for p in probed}).values_list(
            "sha256", "id"
        )
    )
    first: dict[str, _Admitted] = {}  # this chunk's admitted files by sha256
    admitted: list[_Admitted] = []
    copies: list[tuple[int, str, _Admitted]] = []
    for item in probed:
        sha256 = item.source.sha256
        speaker_code, language_tag, metadata = sidecar_lookup(sidecar, item.name)
        # As recording_ingest does: the project's rules and consent first (a refused file is "rejected" even when
        # its bytes are known), then the duplicate check, which takes back a speaker or language row just made.
        try:
            with transaction.atomic() if speaker_code or language_tag else nullcontext():
                speaker, language, held = recording_admit(
                    project=project, speaker_code=speaker_code, language_tag=language_tag
                )
                if sha256 in known or sha256 in first:
                    raise _Duplicate
        except DomainError as exc:
            results[item.index] = IngestResult(item.clean, "rejected", f"{item.clean}: {exc.message}")
            continue
        except _Duplicate:
            if sha256 in known:
                results[item.index] = duplicate_of(item.clean, known[sha256])
            else:
                copies.append((item.index, item.clean, first[sha256]))
            continue
        recording = recording_build(
            project=project,
            source=item.source,
            info=item.info,
            clean=item.clean,
            speaker=speaker,
            language=language,
            metadata=metadata,
            created_by=created_by,
        )
        wrote = store_once(recording.original_key, item.source)
        if wrote:
            written.append(recording.original_key)
        first[sha256] = _Admitted(item.index, item.clean, recording, held, recording.original_key, wrote)
        admitted.append(first[sha256])
    return admitted, copies


def _insert(project, admitted: list[_Admitted], results) -> None:
    """One INSERT for the chunk's rows; when a concurrent upload took some of the same bytes first, row by row."""
    try:
        with transaction.atomic():
            rows_insert(Recording, [a.recording for a in admitted])
    except IntegrityError:
        for a in admitted:
            a.recording.pk = None
            try:
                with transaction.atomic():
                    a.recording.save(force_insert=True)
            except IntegrityError:
                a.recording.pk = None
                discard(a.key, a.wrote)
    for a in admitted:
        if a.recording.pk:
            results[a.index] = ingest_outcome(a.clean, a.recording, a.held)
        else:
            results[a.index] = duplicate_result(project, a.clean, a.recording.sha256)


def _duplicate_of_admitted(project, clean: str, of: _Admitted) -> IngestResult:
    rec = of.recording
    return duplicate_of(clean, rec.pk) if rec.pk else duplicate_result(project, clean, rec.sha256)
