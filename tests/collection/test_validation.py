"""Listeners' votes to both outcomes, disagreements to a reviewer, and a release of validated clips whose
validated.tsv / invalidated.tsv load in pandas."""

import pandas as pd
import pytest
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from apps.core.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def clips(join, upload):
    joined = join(age_band="30-44", gender="woman", accent="Welsh")
    return [upload(joined, key)[0] for key in ("p1", "p2", "p3")]


def _state(clip):
    clip.refresh_from_db()
    return clip.state


def test_two_agreeing_votes_validate_and_invalidate(clips, project_with_roles):
    from apps.annotation.models import Annotation
    from apps.collection.services import vote_cast
    from apps.consent.models import AuditEvent

    users = project_with_roles[1]
    a, b, _ = clips
    vote_cast(clip_id=a.pk, voter=users["annotator"], matches=True)
    assert _state(a) == "pending" and a.up_votes == 1
    vote_cast(clip_id=a.pk, voter=users["reviewer"], matches=True)
    assert _state(a) == "validated" and Annotation.objects.get(recording=a.recording).status == "accepted"
    vote_cast(clip_id=b.pk, voter=users["annotator"], matches=False)
    vote_cast(clip_id=b.pk, voter=users["manager"], matches=False)
    assert _state(b) == "invalidated"
    rejected = Annotation.objects.get(recording=b.recording)
    assert rejected.status == "rejected" and "does not say its prompt" in rejected.review_comment
    assert AuditEvent.objects.filter(action="clip.validated", object_id=str(a.pk)).exists()
    with pytest.raises(DomainError, match="already settled"):
        vote_cast(clip_id=a.pk, voter=users["manager"], matches=False)


def test_disagreement_goes_to_a_reviewer(clips, project_with_roles):
    from apps.collection.selectors import disputed_clips
    from apps.collection.services import clip_review_decide, vote_cast

    users = project_with_roles[1]
    clip = clips[0]
    vote_cast(clip_id=clip.pk, voter=users["annotator"], matches=True)
    with pytest.raises(DomainError, match="already voted"):
        vote_cast(clip_id=clip.pk, voter=users["annotator"], matches=False)
    vote_cast(clip_id=clip.pk, voter=users["reviewer"], matches=False)
    assert _state(clip) == "disputed"
    assert list(disputed_clips(campaign=clip.contributor.campaign)) == [clip]
    with pytest.raises(PermissionDenied):  # an annotator does not settle disputes (403)
        clip_review_decide(clip_id=clip.pk, actor=users["annotator"], matches=True)
    clip_review_decide(clip_id=clip.pk, actor=users["reviewer"], matches=False)
    assert _state(clip) == "invalidated"


def test_votes_needed_is_configurable_and_listeners_must_be_admitted(campaign, clips, project_with_roles, make_user):
    from apps.collection.selectors import validation_queue
    from apps.collection.services import listener_admit, vote_cast

    users = project_with_roles[1]
    campaign.votes_needed = 3
    campaign.save()
    volunteer = make_user("volunteer")
    clip = clips[0]
    with pytest.raises(Http404):
        vote_cast(clip_id=clip.pk, voter=volunteer, matches=True)
    with pytest.raises(Http404):
        vote_cast(clip_id=clip.pk, voter=users["viewer"], matches=True)
    listener_admit(project=campaign.project, user=volunteer, actor=users["manager"])
    assert [c.pk for c in validation_queue(actor=volunteer, campaign=campaign)] == [c.pk for c in clips]
    for voter in (volunteer, users["annotator"]):
        vote_cast(clip_id=clip.pk, voter=voter, matches=True)
    assert _state(clip) == "pending"
    assert clip.pk not in {c.pk for c in validation_queue(actor=volunteer, campaign=campaign)}
    vote_cast(clip_id=clip.pk, voter=users["reviewer"], matches=True)
    assert _state(clip) == "validated"


def test_clips_without_the_review_purpose_are_not_handed_to_listeners(campaign, join, upload, project_with_roles):
    from apps.collection.selectors import validation_queue

    joined = join(purposes=["store", "train_models"])
    upload(joined, "p1")
    assert not validation_queue(actor=project_with_roles[1]["annotator"], campaign=campaign).exists()


def test_release_of_validated_clips_writes_lists_that_load_in_pandas(campaign, clips, project_with_roles):
    from django.core.files.storage import default_storage

    from apps.collection.services import vote_cast
    from apps.datasets.models import ReleaseItem
    from apps.datasets.services import release_build, release_create

    users = project_with_roles[1]
    good, bad, waiting = clips
    for voter in (users["annotator"], users["reviewer"]):
        vote_cast(clip_id=good.pk, voter=voter, matches=True)
        vote_cast(clip_id=bad.pk, voter=voter, matches=False)
    spec = {
        "formats": ["csv", "jsonl"],
        "filters": {"qa": "any", "campaign": campaign.pk, "validation": "validated"},
        "splits": {"train": 1.0},
    }
    release = release_create(actor=users["manager"], project_id=campaign.project_id, spec=spec, enqueue=False)
    release_build(release_id=release.id)
    release.refresh_from_db()
    assert release.status == "ready", release.error
    assert list(ReleaseItem.objects.filter(release=release).values_list("recording_ref", flat=True)) == [
        good.recording_id
    ]
    root = default_storage.path(f"{release.storage_prefix}csv")
    validated = pd.read_csv(f"{root}/validated.tsv", sep="\t", keep_default_na=False)
    invalidated = pd.read_csv(f"{root}/invalidated.tsv", sep="\t", keep_default_na=False)
    assert validated.to_dict("records") == [
        {
            "client_id": good.contributor.speaker.code,
            "path": f"r{good.recording_id:08d}.flac",
            "split": "train",
            "sentence_id": "p1",
            "sentence": "The quick brown fox jumps.",
            "up_votes": 2,
            "down_votes": 0,
            "age": "30-44",
            "gender": "woman",
            "accents": "Welsh",
            "locale": "en",
        }
    ]
    assert list(invalidated["sentence_id"]) == ["p2"] and list(invalidated["path"]) == [""]
    assert waiting.prompt.key not in set(validated["sentence_id"]) | set(invalidated["sentence_id"])
    sums = default_storage.open(f"{release.storage_prefix}jsonl/SHA256SUMS").read().decode()
    assert "validated.tsv" in sums and "invalidated.tsv" in sums
    manifest = pd.read_csv(f"{root}/metadata.csv", keep_default_na=False)
    assert list(manifest["text"]) == ["The quick brown fox jumps."]


def test_release_spec_refuses_an_unknown_campaign(campaign, clips, project_with_roles):
    from apps.datasets.services import release_create

    manager = project_with_roles[1]["manager"]
    with pytest.raises(DomainError, match="no such collection campaign"):
        release_create(
            actor=manager, project_id=campaign.project_id, spec={"filters": {"campaign": 999}}, enqueue=False
        )
    with pytest.raises(DomainError, match="validation filter must be one of"):
        release_create(
            actor=manager, project_id=campaign.project_id, spec={"filters": {"validation": "yes"}}, enqueue=False
        )


def test_invalidated_clips_free_their_prompt_for_someone_else(campaign, join, upload, project_with_roles):
    from apps.collection.services import vote_cast

    users = project_with_roles[1]
    first, _ = upload(join(), "p1")
    upload(join(), "p1")  # p1 has its clips_per_prompt = 2
    third = join()
    with pytest.raises(DomainError, match="all the recordings it needs"):
        upload(third, "p1")
    for voter in (users["annotator"], users["reviewer"]):
        vote_cast(clip_id=first.pk, voter=voter, matches=False)
    clip, created = upload(third, "p1")
    assert created and clip.prompt.key == "p1"
