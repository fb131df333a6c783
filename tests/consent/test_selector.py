"""The one selector: live grants, expiry, partial and single-recording withdrawal, speakerless recordings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.consent.models import ConsentRecord, ConsentStatus, ProjectConsentPolicy, RecordingWithdrawal
from apps.consent.purposes import purposes_to_mask
from apps.consent.selectors import (
    recording_get_usable,
    recording_is_usable,
    recordings_usable,
    recordings_usable_among,
)
from tests.catalog.factories import ProjectFactory, RecordingFactory, SpeakerFactory

pytestmark = pytest.mark.django_db


def _gets(actor, purpose, recording_id, roles) -> bool:
    """Whether recording_get_usable hands the recording back (its rule read from the one row it loads)."""
    from django.http import Http404

    try:
        return recording_get_usable(actor, purpose, recording_id, roles=roles).pk == recording_id
    except Http404:
        return False


def _ids(purpose, actor=None):
    return set(recordings_usable(actor, purpose).values_list("id", flat=True))


def test_speaker_without_consent_is_excluded_for_every_purpose(project_with_roles):
    project, users = project_with_roles
    rec = RecordingFactory(project=project, speaker=SpeakerFactory(project=project, consent=False))
    for purpose in ("store", "annotate", "review", "train_models"):
        assert rec.id not in _ids(purpose)


def test_grant_covers_only_its_purposes_plus_store_requirement(project_with_roles):
    project, _ = project_with_roles
    speaker = SpeakerFactory(project=project, consent=False)
    rec = RecordingFactory(project=project, speaker=speaker)
    ConsentRecord.objects.create(
        speaker=speaker, purpose_mask=purposes_to_mask(["store", "annotate"]), granted_at=timezone.now()
    )
    assert rec.id in _ids("store") and rec.id in _ids("annotate")
    assert rec.id not in _ids("train_models") and rec.id not in _ids("review")
    # annotate alone, without store, is not enough under the default policy
    speaker2 = SpeakerFactory(project=project, consent=False)
    rec2 = RecordingFactory(project=project, speaker=speaker2)
    ConsentRecord.objects.create(
        speaker=speaker2, purpose_mask=purposes_to_mask(["annotate"]), granted_at=timezone.now()
    )
    assert rec2.id not in _ids("annotate")


def test_project_policy_can_require_more_purposes(project_with_roles):
    project, _ = project_with_roles
    speaker = SpeakerFactory(project=project, consent=False)
    rec = RecordingFactory(project=project, speaker=speaker)
    ConsentRecord.objects.create(
        speaker=speaker, purpose_mask=purposes_to_mask(["store", "annotate"]), granted_at=timezone.now()
    )
    assert rec.id in _ids("annotate")
    ProjectConsentPolicy.objects.create(
        project=project, annotate_mask=purposes_to_mask(["store", "annotate", "review"])
    )
    assert rec.id not in _ids("annotate")
    assert rec.id in _ids("store")


def test_expired_consent_is_excluded_before_any_task_marks_it(project_with_roles):
    project, _ = project_with_roles
    speaker = SpeakerFactory(project=project, consent=False)
    rec = RecordingFactory(project=project, speaker=speaker)
    record = ConsentRecord.objects.create(
        speaker=speaker,
        purpose_mask=purposes_to_mask(["store"]),
        granted_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert rec.id in _ids("store")
    ConsentRecord.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert rec.id not in _ids("store")
    assert ConsentRecord.objects.get(pk=record.pk).status == ConsentStatus.GRANTED  # the selector alone decided


def test_withdrawn_single_recording_is_excluded_but_siblings_stay(project_with_roles):
    project, _ = project_with_roles
    speaker = SpeakerFactory(project=project)
    one, two = RecordingFactory.create_batch(2, project=project, speaker=speaker)
    RecordingWithdrawal.objects.create(recording=one, withdrawn_at=timezone.now(), withdrawn_via="manager")
    assert one.id not in _ids("store") and two.id in _ids("store")


def test_speakerless_recordings_need_no_consent_unless_project_requires_speakers(project_with_roles):
    project, _ = project_with_roles
    rec = RecordingFactory(project=project, speaker=None)
    assert rec.id in _ids("public_release")
    project.require_speaker = True
    project.save()
    assert rec.id not in _ids("store")


def test_get_usable_gives_404_for_withdrawn_and_missing_alike(project_with_roles):
    from django.http import Http404

    project, users = project_with_roles
    rec = RecordingFactory(project=project, speaker=SpeakerFactory(project=project, consent=False))
    for rid in (rec.id, 999999, "nonsense"):
        with pytest.raises(Http404):
            recording_get_usable(users["manager"], "store", rid)


def test_selector_is_one_query_however_many_rows(project_with_roles, django_assert_num_queries):
    project, users = project_with_roles
    RecordingFactory.create_batch(3, project=project)
    with django_assert_num_queries(1):
        assert len(list(recordings_usable(users["manager"], "annotate"))) == 3
    RecordingFactory.create_batch(7, project=project)
    with django_assert_num_queries(1):
        assert len(list(recordings_usable(users["manager"], "annotate"))) == 10


def test_one_recording_check_agrees_with_the_set_wise_filter_over_random_states(project_with_roles, make_user):
    """recording_is_usable (the autosave form), recording_get_usable (the range-request form),
    recordings_usable_among (the queue's own-work form) and recordings_usable are one rule.

    A seeded random world: two projects (one requiring speakers), random policies, speakers with
    zero to two consent records of random masks, status and expiry, withdrawn and purged recordings,
    and users with random roles; every (user, purpose, roles) must give the same set both ways.
    """
    import random

    from django.contrib.auth.models import AnonymousUser

    from apps.accounts.models import Membership
    from apps.catalog.models import RecordingStatus
    from apps.consent.models import SpeechCheck, SpeechCheckState
    from apps.consent.purposes import ALL_PURPOSES_MASK, PURPOSE_BITS

    rng = random.Random(20261202)
    project, users = project_with_roles
    strict = ProjectFactory(require_speaker=True)
    ProjectConsentPolicy.objects.create(
        project=strict, **{f"{p}_mask": rng.randrange(ALL_PURPOSES_MASK + 1) for p in PURPOSE_BITS}
    )
    now = timezone.now()
    recordings = []
    for _i in range(80):
        where = rng.choice([project, strict])
        speaker = None
        if rng.random() < 0.8:
            speaker = SpeakerFactory(project=where, consent=False)
            for _ in range(rng.randrange(3)):
                ConsentRecord.objects.create(
                    speaker=speaker,
                    purpose_mask=rng.randrange(ALL_PURPOSES_MASK + 1),
                    granted_at=now,
                    status=rng.choice(list(ConsentStatus.values)),
                    expires_at=rng.choice([None, now - timedelta(hours=1), now + timedelta(hours=1)]),
                )
        rec = RecordingFactory(
            project=where,
            speaker=speaker,
            status=RecordingStatus.PURGED if rng.random() < 0.1 else RecordingStatus.READY,
        )
        if rng.random() < 0.1:
            RecordingWithdrawal.objects.create(recording=rec, withdrawn_at=now, withdrawn_via="manager")
        if speaker is None and rng.random() < 0.6:  # the speech detector's verdict: only "held" hides it
            SpeechCheck.objects.create(recording=rec, state=rng.choice(list(SpeechCheckState.values)), checked_at=now)
        recordings.append(rec)
    for state in SpeechCheckState.values:  # and for certain: speakerless ones of each verdict where none is required
        rec = RecordingFactory(project=project, speaker=None, status=RecordingStatus.READY)
        SpeechCheck.objects.create(recording=rec, state=state, checked_at=now)
        recordings.append(rec)
    outsider = make_user()
    Membership.objects.create(user=outsider, project=strict, role=rng.choice(["annotator", "reviewer", "viewer"]))
    staff = make_user(is_staff=True)
    actors = [None, AnonymousUser(), staff, outsider, *users.values()]
    usable_somewhere = 0
    for actor in actors:
        for purpose in PURPOSE_BITS:
            for roles in (("manager", "annotator"), ("manager", "reviewer", "annotator", "viewer")):
                expected = set(recordings_usable(actor, purpose, roles=roles).values_list("id", flat=True))
                got = {r.id for r in recordings if recording_is_usable(actor, purpose, r.id, roles=roles)}
                assert got == expected, (actor, purpose, roles)
                assert {r.id for r in recordings if _gets(actor, purpose, r.id, roles)} == expected
                among = recordings_usable_among(actor, purpose, [r.id for r in recordings], roles=roles)
                assert set(among) == expected and all(r.pk == pk for pk, r in among.items())
                usable_somewhere += len(got)
    assert 0 < usable_somewhere < len(actors) * len(PURPOSE_BITS) * 2 * len(recordings)  # both answers occur


def test_usable_among_reads_the_rows_whole_and_leaves_out_the_rest(project_with_roles, django_assert_num_queries):
    """The few recordings asked about come back with their related rows joined; withdrawn ones, ones without
    consent and ids of no row are left out. One read, then per recording its row and flags, and its speaker's
    grants unless it was withdrawn."""
    project, users = project_with_roles
    kept = RecordingFactory(project=project)
    withdrawn = RecordingFactory(project=project)
    RecordingWithdrawal.objects.create(recording=withdrawn, withdrawn_at=timezone.now(), withdrawn_via="manager")
    refused = RecordingFactory(project=project, speaker=SpeakerFactory(project=project, consent=False))
    with django_assert_num_queries(1 + 2 + 1 + 2):
        found = recordings_usable_among(
            users["annotator"], "annotate", [kept.id, withdrawn.id, refused.id, 999999], related=("speaker",)
        )
    assert list(found) == [kept.id]
    with django_assert_num_queries(0):
        assert found[kept.id].speaker.pk == kept.speaker_id
    with django_assert_num_queries(0):
        assert recordings_usable_among(users["annotator"], "annotate", []) == {}
