"""Campaigns, consent at the source, clips through the normal ingest, quotas and caps, invite codes, voiding."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import DomainError

pytestmark = pytest.mark.django_db


def _usable(purpose):
    from apps.consent.selectors import recordings_usable

    return set(recordings_usable(None, purpose).values_list("pk", flat=True))


def test_prompts_import_from_text_and_csv_all_or_nothing(campaign, project_with_roles):
    from apps.collection.services import prompts_import

    manager = project_with_roles[1]["manager"]
    assert list(campaign.prompts.values_list("key", "tags")) == [
        ("p1", ["short"]),
        ("p2", ["short", "proverb"]),
        ("p3", []),
    ]
    added = prompts_import(
        campaign=campaign, content="Bonjour tout le monde.\n\nIl fait beau.\n", language_tag="fr", actor=manager
    )
    assert [p.key for p in added] == ["fr-00004", "fr-00005"] and added[0].language.tag == "fr"
    with pytest.raises(DomainError, match="Line 3: the prompt text is empty"):
        prompts_import(campaign=campaign, content="id,text\nq1,Fine.\nq2,\n", language_tag="en", actor=manager)
    with pytest.raises(DomainError, match="'p1' is used twice"):
        prompts_import(campaign=campaign, content="id\ttext\np1\tAgain.\n", language_tag="en", actor=manager)
    assert campaign.prompts.count() == 5  # nothing half-written


def test_join_records_consent_with_form_version_purposes_and_time(campaign, join):
    from apps.consent.models import AuditEvent

    before = timezone.now()
    joined = join(age_band="30-44", gender="woman", accent="Scottish")
    c = joined.contributor
    consent = c.consent
    assert consent.form_id == campaign.consent_form_id and consent.form.version == 1
    assert consent.form.text.startswith("We record you")
    assert consent.purposes == ["store", "annotate", "review", "train_models"]
    assert before <= consent.granted_at <= timezone.now()
    assert c.evidence["form_sha256"] == campaign.consent_form.sha256
    assert c.evidence["purposes_asked"] == ["store", "annotate", "review", "train_models", "public_release"]
    speaker = c.speaker
    assert speaker.code.startswith(f"c{campaign.pk}-") and (speaker.age_band, speaker.accent) == ("30-44", "Scottish")
    assert AuditEvent.objects.filter(action="contributor.joined", object_id=str(c.pk)).exists()
    assert joined.optout_token and joined.secret


def test_join_refuses_without_the_required_purpose_and_writes_nothing(campaign, join):
    from apps.catalog.models import Speaker

    with pytest.raises(DomainError, match="please tick: store"):
        join(purposes=["annotate"])
    with pytest.raises(DomainError, match="does not ask for commercial"):
        join(purposes=["store", "commercial"])
    with pytest.raises(DomainError, match="age band"):
        join(age_band="ancient")
    assert not Speaker.objects.exists()


def test_clip_enters_through_ingest_with_speaker_language_transcript_and_source(campaign, join, upload):
    from apps.annotation.models import Annotation
    from apps.catalog.models import Recording

    joined = join()
    clip, created = upload(joined, "p2")
    assert created
    rec = Recording.objects.get(pk=clip.recording_id)
    assert rec.speaker_id == joined.contributor.speaker_id and rec.language.tag == "en"
    assert rec.metadata == {"source": "campaign", "campaign_id": campaign.pk, "prompt_id": "p2"}
    assert rec.container == "wav"
    ann = Annotation.objects.get(recording=rec)
    assert ann.status == "submitted" and [r.text for r in ann.regions.all()] == ["A stitch in time saves nine."]
    assert rec.pk in _usable("store")


def test_retried_upload_with_the_same_key_arrives_once(join, upload):
    from apps.collection.models import Clip

    joined = join()
    first, created = upload(joined, "p1", key="same-key-123")
    again, created_again = upload(joined, "p1", key="same-key-123")
    assert created and not created_again and again.pk == first.pk
    assert Clip.objects.count() == 1


def test_bad_audio_is_refused_and_leaves_nothing(join, settings):
    from apps.catalog.models import Recording
    from apps.collection.services import clip_upload
    from tests.conftest import make_audio

    joined = join()
    for data, message in [
        (b"not audio at all", "not a readable WAV"),
        (make_audio(seconds=1.0, fmt="FLAC", subtype=None), "uncompressed PCM WAV"),
        (make_audio(seconds=0.2), "too short"),
        (make_audio(seconds=25), "longer than 20"),
    ]:
        with pytest.raises(DomainError, match=message):
            clip_upload(secret=joined.secret, prompt_key="p1", upload_key="k-bad-audio", data=data)
    with pytest.raises(DomainError, match="no prompt 'zz'"):
        clip_upload(secret=joined.secret, prompt_key="zz", upload_key="k-bad-prompt", data=make_audio())
    assert not Recording.objects.exists()


def test_quota_per_prompt_and_cap_per_contributor(campaign, join, upload):
    from apps.collection.selectors import prompts_for_contributor

    a, b, c = join(), join(), join()
    upload(a, "p1")
    upload(b, "p1")
    with pytest.raises(DomainError, match="all the recordings it needs"):
        upload(c, "p1")  # clips_per_prompt = 2
    assert [p.key for p in prompts_for_contributor(contributor=c.contributor)] == ["p2", "p3"]
    with pytest.raises(DomainError, match="already recorded this prompt"):
        upload(a, "p1", key="another-key-1")
    campaign.clips_per_contributor = 2
    campaign.save()
    upload(a, "p2")
    with pytest.raises(DomainError, match="as many clips as this campaign takes") as info:
        upload(a, "p3")
    assert info.value.status_code == 403


def test_rate_limits_per_contributor_and_per_link(campaign, join, upload):
    campaign.contributor_clips_per_minute = 1
    campaign.link_joins_per_hour = 2
    campaign.save()
    a = join()
    upload(a, "p1")
    with pytest.raises(DomainError, match="wait a minute") as info:
        upload(a, "p2")
    assert info.value.status_code == 429
    join()
    with pytest.raises(DomainError, match="try again in an hour") as info:
        join()
    assert info.value.status_code == 429


def test_invite_codes_admit_their_number_and_public_link_caps(campaign, join, project_with_roles):
    from apps.collection.services import invites_create

    manager = project_with_roles[1]["manager"]
    (code,) = invites_create(campaign=campaign, actor=manager, count=1, max_contributors=2)
    assert join(token=code.code).contributor.invite_id == code.pk
    join(token=code.code)
    with pytest.raises(DomainError, match="used by as many people as it admits"):
        join(token=code.code)
    code.revoked = True
    code.save()
    with pytest.raises(DomainError, match="does not open any campaign") as info:
        join(token=code.code)
    assert info.value.status_code == 404
    campaign.public_max_contributors = 1
    campaign.save()
    join()
    with pytest.raises(DomainError, match="all the contributors it needs"):
        join()


def test_schedule_closes_the_campaign(campaign, join):
    campaign.opens_at = timezone.now() + timedelta(days=1)
    campaign.save()
    with pytest.raises(DomainError, match="opens on"):
        join()
    campaign.opens_at, campaign.closes_at = None, timezone.now() - timedelta(seconds=1)
    campaign.save()
    with pytest.raises(DomainError, match="has closed") as info:
        join()
    assert info.value.status_code == 410


def test_voiding_takes_out_one_contributor_only_and_is_audited(campaign, join, upload, project_with_roles):
    from apps.collection.models import Clip
    from apps.collection.services import contributor_void
    from apps.consent.models import AuditEvent

    manager = project_with_roles[1]["manager"]
    bad, good = join(), join()
    bad_clips = [upload(bad, "p1")[0], upload(bad, "p2")[0]]
    good_clip, _ = upload(good, "p1")
    result = contributor_void(contributor_id=bad.contributor.pk, actor=manager, reason="spam")
    assert result["clips_voided"] == 2 and result["recordings_withdrawn"] == 2
    store = _usable("store")
    assert not {c.recording_id for c in bad_clips} & store and good_clip.recording_id in store
    assert set(Clip.objects.filter(contributor=bad.contributor).values_list("state", flat=True)) == {"voided"}
    assert Clip.objects.get(pk=good_clip.pk).state == "pending"
    event = AuditEvent.objects.get(action="contributor.voided")
    assert event.actor_id == manager.pk and event.data["clips"] == 2
    with pytest.raises(DomainError, match="closed this recording session"):
        upload(bad, "p3")


def test_withdrawn_contributor_can_upload_no_more(join, upload):
    from apps.consent.services import consent_withdraw

    joined = join()
    clip, _ = upload(joined, "p1")
    consent_withdraw(consent_id=joined.contributor.consent_id, actor=None, via="self_service")
    assert clip.recording_id not in _usable("store")
    with pytest.raises(DomainError, match="withdrew your consent"):
        upload(joined, "p2")


def test_contributor_reads_the_language_they_choose(campaign, join, project_with_roles):
    from apps.collection.selectors import prompts_for_contributor
    from apps.collection.services import contributor_join, prompts_import

    prompts_import(
        campaign=campaign, content="Bonjour.\nMerci.\n", language_tag="fr", actor=project_with_roles[1]["manager"]
    )
    french = contributor_join(token=campaign.public_token, purposes=["store"], language="fr")
    assert [p.text for p in prompts_for_contributor(contributor=french.contributor)] == ["Bonjour.", "Merci."]
    assert len(prompts_for_contributor(contributor=join().contributor)) == 5  # not chosen: every prompt
    with pytest.raises(DomainError, match="no sentences in 'de'"):
        contributor_join(token=campaign.public_token, purposes=["store"], language="de")
