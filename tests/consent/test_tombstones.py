"""Tombstones (issue 20): a purge leaves hashes, nothing personal; re-applying them to restored data erases it again.

The production-shape test (tests/test_prod_shape.py) restores a real pg_dump and bucket copy; here the "restored"
state is simply the data before the purge with the tombstones written since beside it.
"""

import json

import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import Recording, SpeakerIdentity
from apps.consent import services
from apps.consent.models import ConsentRecord, SpeakerTombstone
from apps.consent.services.purge import purges_run_due
from apps.consent.services.restore import tombstones_reapply
from apps.consent.services.tombstones import speaker_digest, tombstone_write, tombstones_read

pytestmark = pytest.mark.django_db


def test_a_purge_leaves_tombstones_with_hashes_and_no_personal_data(consent_world, settings):
    w = consent_world
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    assert purges_run_due() == {"recordings": 2, "speakers": 1}
    assert tombstones_read("recordings") == {w["a1"].sha256, w["a2"].sha256}
    assert tombstones_read("speakers") == {speaker_digest(project_id=w["project"].id, code="alice-code")}
    _dirs, names = default_storage.listdir("tombstones/speakers/")
    body = default_storage.open(f"tombstones/speakers/{names[0]}").read().decode()
    assert set(json.loads(body)) == {"at"}
    for text in ("Alice", "alice", "example.org"):
        assert text not in body and text not in names[0]


def test_reapplying_tombstones_to_restored_data_erases_the_speaker_again(consent_world):
    w = consent_world
    # Restored from a backup taken before the purge: Alice consents, her audio is in storage; the tombstones the
    # purge wrote after the backup are in the tombstone store.
    tombstone_write(kind="recordings", digest=w["a1"].sha256)
    tombstone_write(kind="recordings", digest=w["a2"].sha256)
    tombstone_write(kind="speakers", digest=speaker_digest(project_id=w["project"].id, code="alice-code"))
    assert tombstones_reapply() == {"recordings": 2, "speakers": 1}
    for rec in (w["a1"], w["a2"]):
        assert Recording.objects.get(pk=rec.pk).status == "purged"
        assert not default_storage.exists(rec.original_key)
    assert SpeakerTombstone.objects.filter(speaker=w["alice"]).exists()
    assert not SpeakerIdentity.objects.filter(speaker=w["alice"]).exists()
    assert not ConsentRecord.objects.filter(speaker=w["alice"], status="granted").exists()
    # Bob had no tombstone: untouched.
    assert Recording.objects.get(pk=w["b1"].pk).status != "purged" and default_storage.exists(w["b1"].original_key)
    assert ConsentRecord.objects.filter(speaker=w["bob"], status="granted").exists()
    assert tombstones_reapply() == {"recordings": 0, "speakers": 0}, "idempotent"


def test_a_recording_tombstone_alone_erases_that_recording(consent_world):
    w = consent_world
    tombstone_write(kind="recordings", digest=w["a1"].sha256)
    assert tombstones_reapply() == {"recordings": 1, "speakers": 0}
    assert Recording.objects.get(pk=w["a1"].pk).status == "purged"
    assert Recording.objects.get(pk=w["a2"].pk).status != "purged"


def test_a_malformed_tombstone_is_refused():
    with pytest.raises(ValueError):
        tombstone_write(kind="recordings", digest="../../originals/x")
