"""Release files created by the helper process (formats.filemaker): the same bytes as files written in the
build's own process, and a failure there fails the release and leaves nothing behind."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.datasets.formats.base import CREATE_NEW
from apps.datasets.formats.filemaker import FileMaker
from apps.datasets.services import release_build, release_create, release_rebuild
from apps.datasets.services import storage as release_storage
from apps.datasets.services.storage import StorageSink

FILE_PER_CLIP = ["jsonl", "csv", "lhotse"]


def files_of(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db
def test_files_made_by_the_helper_process_are_the_bytes_written_in_process(corpus, release_root, monkeypatch):
    spec = {"name": "barks", "unit": "region", "formats": FILE_PER_CLIP}
    first = release_create(actor=corpus["users"]["manager"], project_id=corpus["project"].id, spec=spec, enqueue=False)
    first = release_build(release_id=first.id)  # a small release: every file written in this process
    monkeypatch.setattr(release_storage, "FILES_INLINE", 1)  # all but the first small file: the helper's
    second = release_rebuild(actor=corpus["users"]["manager"], release_id=first.id)
    second = release_build(release_id=second.id)
    assert first.status == second.status == "ready", second.error
    for fmt in FILE_PER_CLIP:
        made, written = files_of(release_root(second, fmt)), files_of(release_root(first, fmt))
        assert made == written and sum(1 for p in made if p.parts[0] == "audio") >= 10
        assert second.files[fmt]["checksum"] == first.files[fmt]["checksum"]


def test_a_file_the_helper_cannot_create_raises_its_reason_and_abort_leaves_nothing(settings, monkeypatch):
    monkeypatch.setattr(release_storage, "FILES_INLINE", 0)
    sink = StorageSink("releases/1/2/jsonl")
    sink.write_file("audio/train/a.flac", b"a" * 1000)
    default_storage.save("releases/1/2/jsonl/audio/train/b.flac/x", ContentFile(b""))  # a folder where a file must go
    sink.write_file("audio/train/b.flac", b"b" * 10)
    with pytest.raises(OSError, match="audio/train/b.flac"):
        sink.finish()
    assert default_storage.exists("releases/1/2/jsonl/audio/train/a.flac")  # made before the failure
    default_storage.delete("releases/1/2/jsonl/audio/train/b.flac/x")
    sink.abort()
    assert not default_storage.exists("releases/1/2/jsonl/audio/train/a.flac")


def test_the_helper_creates_every_file_in_full_past_its_batch_and_pipe_sizes(tmp_path):
    maker = FileMaker(str(tmp_path), CREATE_NEW)
    want = {f"d{i % 3}/f{i:04d}.bin": bytes([i % 251]) * (i * 997 % 70_000) for i in range(300)}  # ~10 MB
    for relpath, data in want.items():
        maker.write(relpath, data)
    maker.close()
    assert {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*.bin")} == want
