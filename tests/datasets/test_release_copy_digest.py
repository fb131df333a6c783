"""A short FLAC original's copy in a release (STREAMINFO, then its frames) is hashed once, at ingest
(Recording.copy_sha256); a build reads such a clip whole and reports that digest as the example's instead of
hashing the bytes again. What it reports is the digest of what the release holds."""

import hashlib
import io
import tarfile

import numpy as np
import pytest
import soundfile as sf

from apps.catalog.flac import flac_copy_sha256, flac_header_in
from apps.catalog.models import Recording
from apps.catalog.services.ingest import COPY_DIGEST_MAX_BYTES, recording_ingest
from apps.datasets.models import ReleaseItem
from apps.datasets.services import release_build, release_create
from tests.catalog.factories import SpeakerFactory

pytestmark = pytest.mark.django_db
SR = 16000


def _flac(seed: int, seconds: float = 1.0, title: str = "") -> bytes:
    """16-bit FLAC noise; a title makes libsndfile write a Vorbis comment, which a release's copy drops."""
    samples = np.random.default_rng(seed).integers(-9000, 9000, int(seconds * SR), dtype=np.int16)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", SR, 1, format="FLAC", subtype="PCM_16") as f:
        if title:
            f.title = title
        f.write(samples)
    return buf.getvalue()


def _ingest(project, speaker, name: str, data: bytes) -> Recording:
    buf = io.BytesIO(data)
    result = recording_ingest(project=project, fileobj=buf, name=name, speaker_code=speaker.code, queue=False)
    assert result.status == "accepted", result.message
    Recording.objects.filter(id=result.recording_id).update(status="ready")  # as processing would leave it
    return Recording.objects.get(id=result.recording_id)


def _shard_members(release, release_root) -> dict[str, bytes]:
    out = {}
    for shard in sorted((release_root(release, "webdataset") / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".flac"):
                    out[member.name.removesuffix(".flac")] = tar.extractfile(member).read()
    return out


def _build(project, manager):
    release = release_create(
        actor=manager, project_id=project.id, spec={"unit": "recording", "formats": ["webdataset"]}, enqueue=False
    )
    release = release_build(release_id=release.id)
    assert release.status == "ready", release.error
    return release


def test_ingest_takes_the_digest_of_a_short_flac_copy_and_only_of_that(project_with_roles, _media_storage, wav_bytes):
    project, _ = project_with_roles
    speaker = SpeakerFactory(project=project)
    tagged = _flac(1, title="Alice in the kitchen")
    rec = _ingest(project, speaker, "tagged.flac", tagged)
    header, _, first = flac_header_in(tagged)
    copy = header + tagged[first:]
    assert len(copy) < len(tagged)  # the tag is not in the copy
    assert rec.copy_sha256 == hashlib.sha256(copy).hexdigest() != rec.sha256
    assert _ingest(project, speaker, "plain.wav", wav_bytes(seed=4)).copy_sha256 == ""
    long_flac = _flac(2, seconds=COPY_DIGEST_MAX_BYTES / SR)  # noise barely compresses: over the limit
    assert len(long_flac) > COPY_DIGEST_MAX_BYTES
    assert _ingest(project, speaker, "long.flac", long_flac).copy_sha256 == ""


def test_flac_copy_sha256_refuses_what_is_not_flac():
    with pytest.raises(ValueError, match="not a FLAC stream"):
        flac_copy_sha256(b"RIFF....WAVE")
    with pytest.raises(ValueError, match="truncated FLAC metadata"):
        flac_copy_sha256(_flac(3)[:20])


def test_a_release_reports_ingests_digest_which_is_that_of_the_bytes_it_holds(
    project_with_roles, _media_storage, release_root
):
    project, users = project_with_roles
    speakers = [SpeakerFactory(project=project) for _ in range(3)]
    recs = [_ingest(project, s, f"c{i}.flac", _flac(10 + i, title=f"take {i}")) for i, s in enumerate(speakers)]
    release = _build(project, users["manager"])
    members = _shard_members(release, release_root)
    items = {i.recording_ref: i for i in ReleaseItem.objects.filter(release=release)}
    assert set(items) == {r.id for r in recs}
    for rec in recs:
        item = items[rec.id]
        assert item.example_sha256 == rec.copy_sha256 == hashlib.sha256(members[item.key]).hexdigest()


def test_the_build_uses_the_stored_digest_rather_than_hashing_again(project_with_roles, _media_storage):
    """The digest in the row is what the build reports (so it does not hash the clip); without one, it hashes."""
    project, users = project_with_roles
    speakers = [SpeakerFactory(project=project) for _ in range(2)]
    data = [_flac(20 + i) for i in range(2)]
    stored, unknown = (_ingest(project, s, f"d{i}.flac", data[i]) for i, s in enumerate(speakers))
    Recording.objects.filter(id=stored.id).update(copy_sha256="f" * 64)
    Recording.objects.filter(id=unknown.id).update(copy_sha256="")  # as for a file ingested before the field
    release = _build(project, users["manager"])
    items = {i.recording_ref: i.example_sha256 for i in ReleaseItem.objects.filter(release=release)}
    assert items[stored.id] == "f" * 64
    assert items[unknown.id] == flac_copy_sha256(data[1])
