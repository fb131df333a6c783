import pytest

from tests.conftest import make_audio

CONSENT_TEXT = "We record you reading sentences aloud to build a speech dataset. You may withdraw at any time."
PROMPTS_CSV = (
    "id,text,tags\n"
    "p1,The quick brown fox jumps.,short\n"
    "p2,A stitch in time saves nine.,short;proverb\n"
    "p3,Birds of a feather flock together.,\n"
)


@pytest.fixture
def campaign(project_with_roles):
    from apps.collection.services import campaign_create, prompts_import

    project, users = project_with_roles
    campaign = campaign_create(
        project=project,
        actor=users["manager"],
        name="Read aloud",
        consent_text=CONSENT_TEXT,
        purposes_asked=["store", "annotate", "review", "train_models", "public_release"],
        clips_per_prompt=2,
        clips_per_contributor=10,
        targets={"language": {"en": 10}, "age_band": {"30-44": 4}},
    )
    prompts_import(campaign=campaign, content=PROMPTS_CSV, language_tag="en", actor=users["manager"])
    return campaign


@pytest.fixture
def join(campaign):
    from apps.collection.services import contributor_join

    def _join(purposes=("store", "annotate", "review", "train_models"), token=None, **demographics):
        return contributor_join(
            token=token or campaign.public_token, purposes=list(purposes), demographics=demographics
        )

    return _join


@pytest.fixture
def upload():
    from apps.collection.services import clip_upload

    counter = {"n": 0}

    def _upload(joined, prompt="p1", key=None, seconds=1.0):
        counter["n"] += 1
        data = make_audio(seconds=seconds, seed=1000 + counter["n"])
        return clip_upload(
            secret=joined.secret, prompt_key=prompt, upload_key=key or f"key-{counter['n']:06d}", data=data
        )

    return _upload
