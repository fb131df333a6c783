import factory

from apps.catalog.models import Language, Project, Recording, Speaker


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"project {n}")


class SpeakerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Speaker
        skip_postgeneration_save = True

    project = factory.SubFactory(ProjectFactory)
    code = factory.Sequence(lambda n: f"spk{n:04d}")

    @factory.post_generation
    def consent(obj, create, extracted, **kwargs):
        """Speakers consent to every purpose unless built with consent=False (the consent selector hides the rest)."""
        if create and extracted is not False:
            from django.utils import timezone

            from apps.consent.models import ConsentRecord
            from apps.consent.purposes import ALL_PURPOSES_MASK

            ConsentRecord.objects.create(speaker=obj, purpose_mask=ALL_PURPOSES_MASK, granted_at=timezone.now())


class LanguageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Language
        django_get_or_create = ("tag",)

    tag = "en"


class RecordingFactory(factory.django.DjangoModelFactory):
    """A catalogue row without a stored object (for list and query-count tests)."""

    class Meta:
        model = Recording

    project = factory.SubFactory(ProjectFactory)
    speaker = factory.LazyAttribute(lambda o: SpeakerFactory(project=o.project))
    language = factory.SubFactory(LanguageFactory)
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    original_key = factory.LazyAttribute(lambda o: f"originals/{o.sha256[:2]}/{o.sha256[2:4]}/{o.sha256}.wav")
    original_name = factory.Sequence(lambda n: f"clip{n}.wav")
    container = "wav"
    codec = "PCM_16"
    sample_rate = 16000
    channels = 1
    frames = 16000
    duration = 1.0
    bytes = 32044
