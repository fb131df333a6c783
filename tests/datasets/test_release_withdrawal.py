"""Withdrawal and releases: blocked downloads, the withdrawals list, and THE RACE TEST (issue 5).

The race: a withdrawal committed while a release is being built must leave that
speaker out of the release or fail the build safely — never a release that
includes them. The build calls back after every example; the callback commits
a real withdrawal (consent_withdraw) at chosen moments, so each window of the
build is hit deterministically.
"""

import pytest
from django.core.files.storage import default_storage

from apps.consent.models import ConsentRecord
from apps.consent.services import consent_withdraw
from apps.datasets.models import DatasetRelease, ReleaseItem
from apps.datasets.services import release_build, release_create, release_rebuild


def withdraw(speaker, manager):
    consent = ConsentRecord.objects.get(speaker=speaker, status="granted")
    return consent_withdraw(consent_id=consent.id, actor=manager)


def new_release(corpus, **spec):
    return release_create(
        actor=corpus["users"]["manager"],
        project_id=corpus["project"].id,
        spec={"name": "barks", "unit": "region", "formats": ["jsonl", "webdataset"], **spec},
        enqueue=False,
    )


def files_under(prefix: str) -> list[str]:
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return []
    return files + [f for d in dirs for f in files_under(f"{prefix}/{d}")]


def speaker_keys(corpus, speaker) -> set[str]:
    return {f"r{rid:08d}" for rid, (rec, _) in corpus["recs"].items() if rec.speaker_id == speaker.id}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["first example", "middle", "after the last example"])
def test_withdrawal_committed_during_the_build_never_ships_that_speaker(corpus, moment):
    release = new_release(corpus)
    victim = corpus["speakers"][5]  # highest ids: their examples come last
    fired = []

    def during_build(n, total):
        at = {"first example": 1, "middle": total // 2, "after the last example": total}[moment]
        if n == at and not fired:
            fired.append(withdraw(victim, corpus["users"]["manager"]))

    release = release_build(release_id=release.id, on_progress=during_build)
    assert fired, "the withdrawal never happened"
    shipped = set(ReleaseItem.objects.filter(release=release).values_list("key", flat=True))
    victim_keys = speaker_keys(corpus, victim)
    if release.status == "ready":
        assert not {k.split("-")[0] for k in shipped} & victim_keys
        assert not release.needs_rebuild
    else:
        assert release.status == "failed"
        assert "withdrawn while this release was being built" in release.error
        assert shipped == set()  # the manifest (with its transcripts) is gone too
        assert files_under(release.storage_prefix.rstrip("/")) == []
    assert (
        DatasetRelease.objects.filter(
            status="ready",
            items__recording_ref__in=[rid for rid, (rec, _) in corpus["recs"].items() if rec.speaker_id == victim.id],
        ).count()
        == 0
    )


@pytest.mark.django_db(transaction=True)
def test_withdrawal_before_the_build_starts_leaves_the_speaker_out(corpus):
    release = new_release(corpus)
    victim = corpus["speakers"][0]
    withdraw(victim, corpus["users"]["manager"])
    release = release_build(release_id=release.id)
    assert release.status == "ready" and not release.needs_rebuild
    keys = {k.split("-")[0] for k in ReleaseItem.objects.filter(release=release).values_list("key", flat=True)}
    assert keys and not keys & speaker_keys(corpus, victim)


@pytest.mark.django_db
def test_withdrawal_after_the_build_blocks_downloads_and_lists_the_withdrawn_examples(
    api, corpus, django_capture_on_commit_callbacks
):
    release = release_build(release_id=new_release(corpus).id)
    victim = corpus["speakers"][2]
    before = ReleaseItem.objects.filter(release=release).count()
    assert files_under(release.storage_prefix.rstrip("/"))
    with django_capture_on_commit_callbacks(execute=True):
        effects = withdraw(victim, corpus["users"]["manager"])
    assert effects["releases_flagged"] == 1
    assert files_under(release.storage_prefix.rstrip("/")) == []  # the withdrawn audio is gone from storage too
    release.refresh_from_db()
    assert release.needs_rebuild and "withdrew consent" in release.rebuild_reason

    client = api(corpus["users"]["exporter"])
    for url in (
        f"/api/v1/releases/{release.id}/download/jsonl",
        f"/api/v1/releases/{release.id}/download/jsonl?list=1",
    ):
        response = client.get(url)
        assert response.status_code == 410
        assert "withdrew consent" in response.json()["detail"] and "/rebuild/" in response.json()["detail"]
    assert client.get(f"/api/v1/releases/{release.id}/").json()["download_blocked"] is True

    withdrawn = client.get(f"/api/v1/releases/{release.id}/withdrawals").json()["results"]
    victim_keys = speaker_keys(corpus, victim)
    assert withdrawn and {row["key"].split("-")[0] for row in withdrawn} == victim_keys
    assert all(len(row["example_sha256"]) == 64 for row in withdrawn)
    later = client.get(f"/api/v1/releases/{release.id}/withdrawals", {"since": "2999-01-01"}).json()["results"]
    assert later == []
    bad = client.get(f"/api/v1/releases/{release.id}/withdrawals", {"since": "yesterday"})
    assert bad.status_code == 400 and "ISO date" in bad.json()["detail"]
    manifest = client.get(f"/api/v1/releases/{release.id}/manifest?page_size=1000").json()["results"]
    assert len(manifest) == before - len(withdrawn)
    assert not {row["key"].split("-")[0] for row in manifest} & victim_keys
    assert ReleaseItem.objects.filter(release=release, withdrawn_at__isnull=False).exclude(text="").count() == 0

    rebuilt = release_build(release_id=release_rebuild(actor=corpus["users"]["manager"], release_id=release.id).id)
    assert rebuilt.version == 2 and rebuilt.status == "ready" and not rebuilt.needs_rebuild
    assert (
        not {k.split("-")[0] for k in ReleaseItem.objects.filter(release=rebuilt).values_list("key", flat=True)}
        & victim_keys
    )
    assert (
        api(corpus["users"]["exporter"]).get(f"/api/v1/releases/{rebuilt.id}/download/jsonl?list=1").status_code == 200
    )


@pytest.mark.django_db
def test_expired_consent_blocks_downloads_even_without_a_withdrawal_event(api, corpus):
    from datetime import timedelta

    from django.utils import timezone

    release = release_build(release_id=new_release(corpus).id)
    ConsentRecord.objects.filter(speaker=corpus["speakers"][1]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api(corpus["users"]["exporter"]).get(f"/api/v1/releases/{release.id}/download/webdataset")
    assert response.status_code == 410 and "rebuild" in response.json()["detail"]


@pytest.mark.django_db
def test_losing_a_purpose_the_release_does_not_need_changes_nothing(corpus, django_capture_on_commit_callbacks):
    release = release_build(release_id=new_release(corpus).id)  # purpose train_models
    consent = ConsentRecord.objects.get(speaker=corpus["speakers"][3], status="granted")
    with django_capture_on_commit_callbacks(execute=True):
        effects = consent_withdraw(consent_id=consent.id, actor=corpus["users"]["manager"], purposes=["commercial"])
    assert effects["releases_flagged"] == 0
    release.refresh_from_db()
    assert not release.needs_rebuild and files_under(release.storage_prefix.rstrip("/"))
    assert not ReleaseItem.objects.filter(release=release, withdrawn_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_card_and_diff_computed_beside_the_writers_match_the_inline_build(corpus, django_db_blocker):
    """Outside a transaction (on PostgreSQL) the card, warnings and diff run on a database lane while the writers
    write; the files and the card come out the same as a build that runs them inline (inside an atomic block, and
    always on SQLite)."""
    from django.db import transaction

    beside = release_build(release_id=new_release(corpus).id)
    with transaction.atomic():  # a thread could not see this transaction's rows: the lane runs inline
        inline = release_build(release_id=new_release(corpus).id)
    assert beside.status == inline.status == "ready"
    for fmt in ("jsonl", "webdataset"):
        assert beside.files[fmt]["checksum"] == inline.files[fmt]["checksum"]
    assert beside.content_hash == inline.content_hash
    assert inline.stats["diff"]["against"] == beside.id and inline.stats["diff"]["added"] == 0
    from django.db import connection

    from apps.datasets.services.build import _DbLane

    with _DbLane() as lane:  # the first build's case: no transaction open, so on PostgreSQL the reads had a thread
        assert (lane.pool is None) == (connection.vendor == "sqlite")
