"""One file in, one Recording out — or a clear rejection and nothing left behind."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import IO

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from apps.catalog.audio_probe import FFMPEG_CONTAINERS, ProbeError, original_extension, probe, sniff
from apps.catalog.models import Project, Recording
from apps.catalog.services.projects import language_get_or_create, speaker_get_or_create
from apps.core.errors import DomainError
from apps.core.hooks import (
    RECORDING_INGEST_CHECK,
    RECORDING_INGESTED,
    RECORDINGS_INGESTED,
    hook_call,
)

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
_BATCH = 100  # files per transaction in a batch upload


@dataclass
class IngestResult:
    name: str
    status: (
        str  # accepted | quarantined (stored, held until consent: extra has reason and speaker) | duplicate | rejected
    )
    message: str = ""
    recording_id: int | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


# Characters that never stay in a shown name: path separators, and bidi controls that reorder what a reader sees
# (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069). Control characters (category Cc) go too.
_DROP = (
    set("/\\")
    | {"\u061c", "\u200e", "\u200f"}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
)


def sanitize_name(name: str) -> str:
    """The user's file name, safe to show and store as metadata (never used as a key).

    Keeps every printable character (letters of any script, digits, emoji, spaces, inner dots); drops path
    separators, control and bidi characters, and leading dots (a name is never hidden or a parent path).
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch not in _DROP and unicodedata.category(ch) != "Cc")
    name = name.strip().lstrip(".").strip()
    return name[:200] or "unnamed"


def shown_path(path: str) -> str:
    """A path as given (folders and leading dots kept) for messages about it, without control or bidi characters."""
    path = unicodedata.normalize("NFC", path or "").replace("\\", "/")
    return "".join(ch for ch in path if ch == "/" or (ch not in _DROP and unicodedata.category(ch) != "Cc"))[:200]


def is_unsafe_path(name: str) -> bool:
    """True for absolute paths, drive letters and any '..' component."""
    norm = (name or "").replace("\\", "/")
    return norm.startswith("/") or bool(re.match(r"^[A-Za-z]:", norm)) or ".." in norm.split("/")


class _Spooled:
    """The upload copied once into a spooled temp file, hashed in the same pass."""

    def __init__(self, fileobj, max_bytes: int):
        self.file = tempfile.SpooledTemporaryFile(max_size=16 * _CHUNK, dir=settings.FILE_UPLOAD_TEMP_DIR)
        self._named: IO[bytes] | None = None
        digest = hashlib.sha256()
        size = 0
        head = b""
        while chunk := fileobj.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                self.file.close()
                raise ProbeError(f"the file is larger than the limit of {max_bytes:,} bytes")
            if len(head) < 128:
                head += chunk[: 128 - len(head)]
            digest.update(chunk)
            self.file.write(chunk)
        self.size, self.sha256, self.head = size, digest.hexdigest(), head
        self.file.seek(0)

    def path(self) -> str:
        """A real path holding the same bytes (ffmpeg needs one): a named temporary copy, made once."""
        if self._named is None:
            self._named = tempfile.NamedTemporaryFile(prefix="earmark-ingest-")
            self.file.seek(0)
            shutil.copyfileobj(self.file, self._named, _CHUNK)
            self._named.flush()
        return self._named.name

    def close(self):
        self.file.close()
        if self._named is not None:
            self._named.close()


def original_key(sha256: str, container: str, codec: str = "") -> str:
    """Content-addressed key: the same bytes always land at the same key, names never appear."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.{original_extension(container, codec)}"


def _store_once(key: str, spooled: _Spooled) -> bool:
    """Write the object unless it is there already; True when this call wrote it."""
    if default_storage.exists(key):
        return False
    spooled.file.seek(0)
    saved = default_storage.save(key, spooled.file)
    if saved != key:  # a concurrent writer won the race with the same bytes
        default_storage.delete(saved)
        return False
    return True


def _duplicate(project: Project, name: str, sha256: str) -> IngestResult | None:
    existing = Recording.objects.filter(project=project, sha256=sha256).values_list("id", flat=True).first()
    if existing is None:
        return None
    return IngestResult(name, "duplicate", f"duplicate of recording {existing}", existing, {"duplicate_of": existing})


def recording_ingest(
    *,
    project: Project,
    fileobj,
    name: str,
    created_by=None,
    speaker_code: str | None = None,
    language_tag: str | None = None,
    metadata: dict | None = None,
    queue: bool = True,
    written: list[str] | None = None,
) -> IngestResult:
    """Check, hash, probe and store one file; creates a Recording and queues its processing.

    Side effects on acceptance: one storage object (unless the same bytes are
    stored already), one Recording row, one processing job after commit.
    A rejection leaves neither row nor object behind. ``queue=False`` leaves the
    processing job to the caller (a batch queues its files at once); ``written``
    collects the keys of objects this call stored, so a batch can remove them if
    its transaction rolls back.
    """
    clean = sanitize_name(name)
    if refused := getattr(fileobj, "refused", None):  # the upload handler stopped it at the limit
        return IngestResult(clean, "rejected", f"{clean}: {refused}")
    try:
        spooled = _Spooled(fileobj, settings.EARMARK_MAX_FILE_BYTES)
    except ProbeError as exc:
        return IngestResult(clean, "rejected", f"{clean}: {exc}")
    try:
        return _ingest_spooled(
            project,
            spooled,
            clean,
            created_by,
            speaker_code,
            language_tag,
            metadata or {},
            queue=queue,
            written=written,
        )
    finally:
        spooled.close()


def _ingest_spooled(
    project, spooled, clean, created_by, speaker_code, language_tag, metadata, *, queue, written
) -> IngestResult:
    try:
        info = probe(
            spooled.file,
            size=spooled.size,
            head=spooled.head,
            max_duration=settings.EARMARK_MAX_DURATION_SECONDS,
            path=spooled.path() if sniff(spooled.head) in FFMPEG_CONTAINERS else None,
        )
    except ProbeError as exc:
        return IngestResult(clean, "rejected", f"{clean}: {exc}")
    # No duplicate pre-check: the unique (project, sha256) constraint answers it in the same insert, so an
    # accepted file costs one query less; a duplicate's bytes are already stored, so nothing is written twice.
    key = original_key(spooled.sha256, info.container, info.codec)
    wrote = False
    try:
        with transaction.atomic():  # the speaker row, the object and the recording land together or not at all
            speaker = speaker_get_or_create(project=project, code=speaker_code) if speaker_code else None
            language = language_get_or_create(tag=language_tag) if language_tag else None
            _check_project_rules(project, speaker, language)
            # consent decides, not the catalogue: it raises (reject) or says why the file is held (quarantine)
            held = next(
                (reason for reason in hook_call(RECORDING_INGEST_CHECK, project=project, speaker=speaker) if reason),
                None,
            )
            wrote = _store_once(key, spooled)
            recording = Recording.objects.create(
                project=project,
                speaker=speaker,
                language=language,
                original_key=key,
                original_name=clean,
                sha256=spooled.sha256,
                container=info.container,
                codec=info.codec,
                sample_rate=info.sample_rate,
                input_sample_rate=info.input_sample_rate,
                channels=info.channels,
                frames=info.frames,
                duration=info.duration,
                bytes=spooled.size,
                metadata=metadata,
                created_by=created_by,
            )
            if queue and not held:  # a held recording's processing is queued the moment consent releases it
                hook_call(RECORDING_INGESTED, recording=recording)
    except DomainError as exc:
        _discard(key, wrote)
        return IngestResult(clean, "rejected", f"{clean}: {exc.message}")
    except IntegrityError:
        _discard(key, wrote)
        return _duplicate(project, clean, spooled.sha256) or IngestResult(
            clean, "rejected", f"{clean}: could not be saved"
        )
    except Exception:
        _discard(key, wrote)
        raise
    if wrote and written is not None:
        written.append(key)
    facts = {"duration": round(info.duration, 3), "sample_rate": info.sample_rate, "channels": info.channels}
    if held:
        return IngestResult(
            clean,
            "quarantined",
            f"{clean}: held in quarantine: {held}; it is stored but used nowhere until that consent is recorded",
            recording.id,
            {**facts, "reason": held, "speaker": speaker.code if speaker else ""},
        )
    return IngestResult(clean, "accepted", "", recording.id, facts)


def _discard(key: str, wrote: bool) -> None:
    """Remove an object this call wrote unless a recording (perhaps a concurrent one) points at it."""
    if wrote and not Recording.objects.filter(original_key=key).exists():
        default_storage.delete(key)


def _check_project_rules(project: Project, speaker, language) -> None:
    if project.require_speaker and speaker is None:
        raise DomainError("this project needs every recording to name a speaker (add a sidecar with a speaker column)")
    if language is not None:
        allowed = list(project.allowed_languages.values_list("tag", flat=True))
        if allowed and language.tag not in allowed:
            raise DomainError(f"the language {language.tag} is not one of this project's ({', '.join(allowed)})")


def recording_ingest_with_sidecar(
    *, project: Project, name: str, fileobj, created_by=None, sidecar: dict | None = None, **options
) -> IngestResult:
    """recording_ingest with speaker, language and metadata looked up in a sidecar by path or base name."""
    sidecar = sidecar or {}
    meta = dict(sidecar.get(name) or sidecar.get(name.replace("\\", "/").rsplit("/", 1)[-1]) or {})
    return recording_ingest(
        project=project,
        fileobj=fileobj,
        name=name,
        created_by=created_by,
        speaker_code=meta.pop("speaker", None) or None,
        language_tag=meta.pop("language", None) or None,
        metadata=meta,
        **options,
    )


def recordings_ingest_many(
    *, project: Project, files, created_by=None, sidecar: dict | None = None, progress=None
) -> list[IngestResult]:
    """Ingest many (name, fileobj) pairs; a bad file never stops the batch.

    Files go in chunks of _BATCH: one transaction and one processing-queue insert per chunk (each
    file still in its own savepoint), so a thousand files cost a few dozen commits, not thousands.
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
    results: list[IngestResult] = []
    written: list[str] = []
    try:
        with transaction.atomic():
            for name, fileobj in files:
                results.append(
                    recording_ingest_with_sidecar(
                        project=project,
                        name=name,
                        fileobj=fileobj,
                        created_by=created_by,
                        sidecar=sidecar,
                        queue=False,
                        written=written,
                    )
                )
            hook_call(
                RECORDINGS_INGESTED,
                project=project,
                recording_ids=[r.recording_id for r in results if r.status == "accepted"],
            )
    except BaseException:
        for key in written:  # the chunk's rows are gone, so are its objects
            _discard(key, True)
        raise
    return results
