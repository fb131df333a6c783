"""Consent writes catalogue rows (speakers, languages) only through catalog's services, with their checks."""

import pytest

from apps.catalog.models import Language, Speaker, SpeakerIdentity
from apps.consent import services
from apps.consent.models import ConsentForm, ConsentRecord
from apps.core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_a_speaker_code_longer_than_the_catalogue_allows_is_refused_with_nothing_written(consent_world):
    w = consent_world
    before = Speaker.objects.count()
    with pytest.raises(DomainError, match="a speaker code must have 1 to 64 characters"):
        services.speaker_create(
            project=w["project"], code="x" * 65, actor=w["users"]["manager"], identity={"full_name": "Too Long"}
        )
    assert Speaker.objects.count() == before
    assert not SpeakerIdentity.objects.filter(full_name="Too Long").exists()


def test_a_consent_form_with_a_malformed_language_tag_is_refused_with_nothing_written(consent_world):
    w = consent_world
    forms, languages = ConsentForm.objects.count(), Language.objects.count()
    with pytest.raises(DomainError, match="BCP-47|language"):
        services.consent_form_create(
            title="Form", text="I agree.", purposes=["store"], language_tag="not a tag!", project=w["project"]
        )
    assert (ConsentForm.objects.count(), Language.objects.count()) == (forms, languages)


def test_speaker_enrol_writes_speaker_and_consent_together_or_neither(consent_world):
    w = consent_world
    before = (Speaker.objects.count(), ConsentRecord.objects.count())
    with pytest.raises(DomainError, match="purposes"):
        services.speaker_enrol(
            project=w["project"],
            code="dave",
            actor=w["users"]["manager"],
            purposes=["flying"],
            identity={"full_name": "Dave D"},
        )
    assert (Speaker.objects.count(), ConsentRecord.objects.count()) == before
    record = services.speaker_enrol(
        project=w["project"],
        code="dave",
        actor=w["users"]["manager"],
        purposes=["store"],
        identity={"full_name": "Dave D"},
    )
    assert record.speaker.code == "dave" and record.speaker.identity.full_name == "Dave D"
