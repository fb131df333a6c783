"""One file in, one Recording out — or a clear rejection and nothing left behind."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, transaction
from django.utils._os import safe_makedirs

from apps.catalog.audio_probe import (
    FFMPEG_CONTAINERS,
    AudioProbe,
    ProbeError,
    original_extension,
    probe,
    sniff,
)
from apps.catalog.flac import flac_copy_sha256
from apps.catalog.models import Project, Recording
from apps.catalog.services.projects import language_get_or_create, speaker_get_or_create
from apps.core.errors import DomainError
from apps.core.hooks import (
    RECORDING_INGEST_CHECK,
    RECORDING_INGESTED,
    hook_call,
)

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
# A FLAC original up to this size gets its copy's digest at ingest (Recording.copy_sha256): a release build reads
# such a file whole and reports that digest instead of hashing it again (apps/datasets/services/build.py).
COPY_DIGEST_MAX_BYTES = 1 << 20


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
        # Flat and by hand: dataclasses.asdict deep-copies recursively, a visible share of a 1,000-file answer.
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "recording_id": self.recording_id,
            **self.extra,
        }


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


class FileSource:
    """One file's bytes as ingest sees them: ``size``, the first bytes (``head``) and ``sha256``, taken in one
    pass; ``file`` (seekable) for the probe; ``storable()`` for storage; ``path()`` for ffmpeg."""

    file: IO[bytes]
    size: int
    sha256: str
    head: bytes

    def __init__(self):
        self._named: IO[bytes] | None = None

    def path(self) -> str:
        """A real path holding the same bytes (ffmpeg needs one): a named temporary copy, made once."""
        if self._named is None:
            self._named = tempfile.NamedTemporaryFile(prefix="earmark-ingest-", dir=settings.FILE_UPLOAD_TEMP_DIR)
            self.file.seek(0)
            shutil.copyfileobj(self.file, self._named, _CHUNK)
            self._named.flush()
        return self._named.name

    def storable(self):
        """What storage saves: the bytes read here, whatever the caller does with its file meanwhile."""
        self.file.seek(0)
        return self.file

    def close(self):
        if self._named is not None:
            self._named.close()

    def copy_sha256(self, container: str) -> str:
        """Recording.copy_sha256: for a FLAC file up to COPY_DIGEST_MAX_BYTES, the digest of its copy in a release
        (read from the bytes already held here); "" for anything else."""
        if container != "flac" or self.size > COPY_DIGEST_MAX_BYTES:
            return ""
        self.file.seek(0)
        try:
            return flac_copy_sha256(self.file.read())
        except ValueError:  # the probe read it as FLAC, but its metadata does not parse: builds hash the copy
            return ""
        finally:
            self.file.seek(0)


def _too_large(size: int, max_bytes: int) -> ProbeError | None:
    return ProbeError(f"the file is larger than the limit of {max_bytes:,} bytes") if size > max_bytes else None


class _InMemory(FileSource):
    """An upload Django already holds in memory (a BytesIO: uploads under FILE_UPLOAD_MAX_MEMORY_SIZE, campaign
    clips): hashed in place, probed and stored from that same buffer, never copied."""

    def __init__(self, buffer: io.BytesIO, max_bytes: int):
        super().__init__()
        with buffer.getbuffer() as view:
            if error := _too_large(len(view), max_bytes):
                raise error
            self.size, self.sha256, self.head = len(view), hashlib.sha256(view).hexdigest(), bytes(view[:128])
        self.file = buffer


class _OnDisk(FileSource):
    """An upload Django spooled to its own temp file: hashed as the upload handler wrote it, probed from it
    (ffmpeg reads it by path; uncompressed WAV only by its header), and hard-linked into local storage rather
    than copied (S3 uploads it from the file)."""

    def __init__(self, upload, max_bytes: int):
        super().__init__()
        self.upload, self.file = upload, upload.file
        self.size = os.path.getsize(upload.temporary_file_path())
        if error := _too_large(self.size, max_bytes):
            raise error
        self.file.seek(0)
        self.head = self.file.read(128)
        # Our upload handler hashed the bytes as it wrote them; any other handler's file is read once here.
        self.sha256 = getattr(upload, "earmark_sha256", None) or _sha256_of(self.file)

    def path(self) -> str:
        return self.upload.temporary_file_path()

    def storable(self):
        self.file.seek(0)
        return self.upload  # FileSystemStorage moves a file that has temporary_file_path() (if the link could not)


def _sha256_of(f) -> str:
    f.seek(0)
    digest = hashlib.sha256()
    while chunk := f.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class _Spooled(FileSource):
    """Any other file object (a zip member, a server file, an S3 body): copied once into a spooled temp file,
    hashed in the same pass, so what is probed and stored is what was hashed."""

    def __init__(self, fileobj, max_bytes: int):
        super().__init__()
        self.file = tempfile.SpooledTemporaryFile(max_size=16 * _CHUNK, dir=settings.FILE_UPLOAD_TEMP_DIR)
        digest = hashlib.sha256()
        size = 0
        head = b""
        while chunk := fileobj.read(_CHUNK):
            size += len(chunk)
            if error := _too_large(size, max_bytes):
                self.file.close()
                raise error
            if len(head) < 128:
                head += chunk[: 128 - len(head)]
            digest.update(chunk)
            self.file.write(chunk)
        self.size, self.sha256, self.head = size, digest.hexdigest(), head
        self.file.seek(0)

    def close(self):
        self.file.close()
        super().close()


def _source(fileobj, max_bytes: int) -> FileSource:
    """Read ``fileobj`` once, the cheapest way its kind allows (see the three classes above)."""
    inner = getattr(fileobj, "file", fileobj)
    if isinstance(inner, io.BytesIO):
        return _InMemory(inner, max_bytes)
    if hasattr(fileobj, "temporary_file_path"):
        return _OnDisk(fileobj, max_bytes)
    return _Spooled(fileobj, max_bytes)


def original_key(sha256: str, container: str, codec: str = "") -> str:
    """Content-addressed key: the same bytes always land at the same key, names never appear."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}.{original_extension(container, codec)}"


def store_once(key: str, source: FileSource) -> bool:
    """Write the object unless it is there already; True when this call wrote it."""
    if (linked := _link_into_local_storage(key, source)) is not None:
        return linked
    if default_storage.exists(key):
        return False
    saved = default_storage.save(key, source.storable())
    if saved != key:  # a concurrent writer won the race with the same bytes
        default_storage.delete(saved)
        return False
    return True


def _link_into_local_storage(key: str, source: FileSource) -> bool | None:
    """An upload's temp file given its key in local storage by a hard link; None where that does not apply.

    The link is refused when the key exists (the same bytes are stored: False), so no existence check comes
    first, and the object's folders are made only when the link says they are missing. Django's save would
    stat the key twice, make its folders, stat both paths, check access, rename and stat again: about half of
    ingest's own CPU per file on a 1,000-file upload. The file ends as Django's move leaves it (permissions,
    group); the temp name goes when Django closes the upload at the end of the request.
    """
    storage = default_storage
    if not isinstance(source, _OnDisk) or storage.__class__ is not FileSystemStorage:
        return None
    full = storage.path(key)
    temp = source.upload.temporary_file_path()
    try:
        try:
            os.link(temp, full)
        except FileNotFoundError:  # a new folder (content-addressed keys spread over 65,536 of them)
            folder = os.path.dirname(full)
            if storage.directory_permissions_mode is not None:
                safe_makedirs(folder, storage.directory_permissions_mode, exist_ok=True)
            else:
                os.makedirs(folder, exist_ok=True)
            os.link(temp, full)
    except FileExistsError:
        return False
    except OSError:  # another filesystem, or none with hard links: Django's own move (or copy) then
        return None
    if storage.file_permissions_mode is not None:
        os.chmod(full, storage.file_permissions_mode)
    if ensure_group := getattr(storage, "_ensure_location_group_id", None):  # what Django does after its move
        ensure_group(full)
    return True


def duplicate_of(name: str, existing: int) -> IngestResult:
    return IngestResult(name, "duplicate", f"duplicate of recording {existing}", existing, {"duplicate_of": existing})


def duplicate_result(project: Project, name: str, sha256: str) -> IngestResult:
    """The file's bytes are a recording of the project already (the unique constraint said so), or a failure."""
    existing = Recording.objects.filter(project=project, sha256=sha256).values_list("id", flat=True).first()
    if existing is None:
        return IngestResult(name, "rejected", f"{name}: could not be saved")
    return duplicate_of(name, existing)


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
    processing job to the caller; ``written`` collects the keys of objects this
    call stored, so a caller's outer transaction can remove them if it rolls back.
    """
    clean = sanitize_name(name)
    opened = file_read_and_probe(fileobj, clean)
    if isinstance(opened, IngestResult):
        return opened
    source, info = opened
    try:
        return _ingest_probed(
            project,
            source,
            info,
            clean,
            created_by,
            speaker_code,
            language_tag,
            metadata or {},
            queue=queue,
            written=written,
        )
    finally:
        source.close()


def file_read_and_probe(fileobj, clean: str) -> tuple[FileSource, AudioProbe] | IngestResult:
    """The file read once (size, sha256) and probed, or its rejection; the caller closes the source."""
    if refused := getattr(fileobj, "refused", None):  # the upload handler stopped it at the limit
        return IngestResult(clean, "rejected", f"{clean}: {refused}")
    try:
        source = _source(fileobj, settings.EARMARK_MAX_FILE_BYTES)
    except ProbeError as exc:
        return IngestResult(clean, "rejected", f"{clean}: {exc}")
    try:
        info = probe(
            source.file,
            size=source.size,
            head=source.head,
            max_duration=settings.EARMARK_MAX_DURATION_SECONDS,
            path=source.path() if sniff(source.head) in FFMPEG_CONTAINERS else None,
        )
    except ProbeError as exc:
        source.close()
        return IngestResult(clean, "rejected", f"{clean}: {exc}")
    except BaseException:
        source.close()
        raise
    return source, info


def recording_admit(*, project: Project, speaker_code: str | None, language_tag: str | None):
    """(speaker, language, held): the rows a file names (made on first use), checked against the project's rules
    and consent; ``held`` is why consent quarantines it, or None. Raises DomainError when it is refused.
    Writes Speaker and Language rows; call it inside a transaction that a refusal rolls back."""
    speaker = speaker_get_or_create(project=project, code=speaker_code) if speaker_code else None
    language = language_get_or_create(tag=language_tag) if language_tag else None
    _check_project_rules(project, speaker, language)
    # consent decides, not the catalogue: it raises (reject) or says why the file is held (quarantine)
    held = next(
        (reason for reason in hook_call(RECORDING_INGEST_CHECK, project=project, speaker=speaker) if reason),
        None,
    )
    return speaker, language, held


def recording_build(
    *, project, source: FileSource, info: AudioProbe, clean: str, speaker, language, metadata, created_by
) -> Recording:
    """The Recording row for a stored file, not saved yet."""
    return Recording(
        project=project,
        speaker=speaker,
        language=language,
        original_key=original_key(source.sha256, info.container, info.codec),
        original_name=clean,
        sha256=source.sha256,
        copy_sha256=source.copy_sha256(info.container),
        container=info.container,
        codec=info.codec,
        sample_rate=info.sample_rate,
        input_sample_rate=info.input_sample_rate,
        channels=info.channels,
        frames=info.frames,
        duration=info.duration,
        bytes=source.size,
        metadata=metadata,
        created_by=created_by,
    )


def ingest_outcome(clean: str, recording: Recording, held: str | None) -> IngestResult:
    """What ingest reports for a file whose row was written: accepted, or quarantined and why."""
    rec = recording
    facts = {"duration": round(rec.duration, 3), "sample_rate": rec.sample_rate, "channels": rec.channels}
    if held:
        return IngestResult(
            clean,
            "quarantined",
            f"{clean}: held in quarantine: {held}; it is stored but used nowhere until that consent is recorded",
            rec.id,
            {**facts, "reason": held, "speaker": rec.speaker.code if rec.speaker else ""},
        )
    return IngestResult(clean, "accepted", "", rec.id, facts)


def _ingest_probed(
    project, source, info, clean, created_by, speaker_code, language_tag, metadata, *, queue, written
) -> IngestResult:
    # No duplicate pre-check: the unique (project, sha256) constraint answers it in the same insert, so an
    # accepted file costs one query less; a duplicate's bytes are already stored, so nothing is written twice.
    key = original_key(source.sha256, info.container, info.codec)
    wrote = False
    try:
        with transaction.atomic():  # the speaker row, the object and the recording land together or not at all
            speaker, language, held = recording_admit(
                project=project, speaker_code=speaker_code, language_tag=language_tag
            )
            wrote = store_once(key, source)
            recording = recording_build(
                project=project,
                source=source,
                info=info,
                clean=clean,
                speaker=speaker,
                language=language,
                metadata=metadata,
                created_by=created_by,
            )
            recording.save(force_insert=True)
            if queue and not held:  # a held recording's processing is queued the moment consent releases it
                hook_call(RECORDING_INGESTED, recording=recording)
    except DomainError as exc:
        discard(key, wrote)
        return IngestResult(clean, "rejected", f"{clean}: {exc.message}")
    except IntegrityError:
        discard(key, wrote)
        return duplicate_result(project, clean, source.sha256)
    except Exception:
        discard(key, wrote)
        raise
    if wrote and written is not None:
        written.append(key)
    return ingest_outcome(clean, recording, held)


def discard(key: str, wrote: bool) -> None:
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
    speaker_code, language_tag, metadata = sidecar_lookup(sidecar, name)
    return recording_ingest(
        project=project,
        fileobj=fileobj,
        name=name,
        created_by=created_by,
        speaker_code=speaker_code,
        language_tag=language_tag,
        metadata=metadata,
        **options,
    )


def sidecar_lookup(sidecar: dict | None, name: str) -> tuple[str | None, str | None, dict]:
    """(speaker code, language tag, other metadata) a sidecar gives the file ``name`` (by path, else base name)."""
    sidecar = sidecar or {}
    meta = dict(sidecar.get(name) or sidecar.get(name.replace("\\", "/").rsplit("/", 1)[-1]) or {})
    return meta.pop("speaker", None) or None, meta.pop("language", None) or None, meta
