"""Release API: bad specs get a 400 sentence and write nothing, roles, downloads (audited), manifest paging."""

import hashlib
import io
import tarfile

import pytest

from apps.consent.models import AuditEvent, ConsentRecord
from apps.consent.purposes import PURPOSE_BITS
from apps.datasets.models import DatasetRelease, ReleaseItem
from tests.catalog.factories import LanguageFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def create(api, corpus, spec, role="manager"):
    return api(corpus["users"][role]).post(
        f"/api/v1/projects/{corpus['project'].id}/releases/", {"spec": spec}, format="json"
    )


@pytest.fixture
def built(api, corpus, django_capture_on_commit_callbacks):
    """A region release built through the API: the build is enqueued on commit and Celery runs eagerly."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = create(api, corpus, {"name": "barks", "unit": "region", "formats": ["jsonl", "webdataset"]})
    assert len(callbacks) == 1
    assert response.status_code == 201, response.content
    release = DatasetRelease.objects.get(id=response.json()["id"])
    assert release.status == "ready", release.error
    return release


@pytest.mark.parametrize(
    "spec, sentence",
    [
        ({"filters": {"labels": ["wolf"]}}, "Unknown label 'wolf'"),
        ({"filters": {"languages": ["en"], "min_duration": 5}}, "selects no examples"),
        ({"splits": {"train": 0.8, "test": 0.1}}, "Split ratios must sum to 1 (got 0.9)"),
        ({"purpose": "annotate"}, "is not a release purpose"),
        ({"formats": ["zip"]}, "Unknown release format 'zip'"),
        ({"unit": "sentence"}, "Release unit 'sentence'"),
        ({"audio": {"format": "mp3"}}, "Audio format 'mp3'"),
        ({"filters": {"min_duration": 3, "max_duration": 1}}, "is larger than max_duration"),
        ({"colour": "red"}, "Unknown release spec field 'colour'"),
        ("not an object", "must be a JSON object"),
    ],
)
def test_bad_specs_get_a_400_sentence_and_create_nothing(api, corpus, spec, sentence):
    response = create(api, corpus, spec)
    assert response.status_code == 400, response.content
    assert sentence in response.json()["detail"]
    assert not DatasetRelease.objects.exists()


def test_purpose_not_granted_by_consent_policy_is_a_400(api, corpus):
    ConsentRecord.objects.update(purpose_mask=PURPOSE_BITS["store"] | PURPOSE_BITS["train_models"])
    response = create(api, corpus, {"purpose": "public_release"})
    assert response.status_code == 400
    assert "has granted the purpose 'public_release'" in response.json()["detail"]
    assert not DatasetRelease.objects.exists()
    assert create(api, corpus, {"purpose": "train_models", "formats": ["csv"]}).status_code == 201


@pytest.mark.parametrize("role", ["viewer", "annotator", "reviewer"])
def test_only_managers_build(api, corpus, role):
    response = create(api, corpus, {}, role=role)
    assert response.status_code == 403 and "manager" in response.json()["detail"]
    assert not DatasetRelease.objects.exists()


def test_outsiders_see_no_release(api, corpus, built, make_user):
    stranger = make_user("stranger")
    client = api(stranger)
    assert client.get(f"/api/v1/releases/{built.id}/").status_code == 404
    assert client.get(f"/api/v1/releases/{built.id}/download/jsonl").status_code == 404
    assert client.get(f"/api/v1/projects/{built.project_id}/releases/").status_code == 404
    assert client.post(f"/api/v1/releases/{built.id}/rebuild/").status_code == 404


def test_exporter_reads_and_downloads_the_whole_format_as_a_tar(api, corpus, built):
    client = api(corpus["users"]["exporter"])
    detail = client.get(f"/api/v1/releases/{built.id}/").json()
    assert detail["status"] == "ready" and detail["version"] == 1 and "## Splits" in detail["data_card"]
    assert client.post(f"/api/v1/releases/{built.id}/rebuild/").status_code == 403
    response = client.get(f"/api/v1/releases/{built.id}/download/webdataset")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-tar"
    body = b"".join(response.streaming_content)
    assert len(body) % 10240 == 0
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        members = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers()}
    sums = dict(reversed(line.split("  ", 1)) for line in members["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(members) - {"SHA256SUMS"}
    for path, digest in sums.items():
        assert hashlib.sha256(members[path]).hexdigest() == digest
    event = AuditEvent.objects.filter(action="release.download").get()
    assert (event.object_id, event.actor_id, event.data["format"]) == (
        str(built.id),
        corpus["users"]["exporter"].id,
        "webdataset",
    )


def test_single_file_download_with_range_and_file_list(api, corpus, built):
    client = api(corpus["users"]["exporter"])
    listing = client.get(f"/api/v1/releases/{built.id}/download/jsonl?list=1").json()
    path = next(f["path"] for f in listing["files"] if f["path"].endswith(".flac"))
    whole = client.get(f"/api/v1/releases/{built.id}/download/jsonl", {"file": path})
    data = b"".join(whole.streaming_content)
    assert hashlib.sha256(data).hexdigest() == next(f["sha256"] for f in listing["files"] if f["path"] == path)
    part = client.get(f"/api/v1/releases/{built.id}/download/jsonl", {"file": path}, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[:10]
    missing = client.get(f"/api/v1/releases/{built.id}/download/jsonl", {"file": "../../etc/passwd"})
    assert missing.status_code == 404 and "has no file" in missing.json()["detail"]
    assert AuditEvent.objects.filter(action="release.download").count() == 3


def test_download_of_a_format_not_built_or_unknown_is_a_404_sentence(api, corpus, built):
    client = api(corpus["users"]["exporter"])
    response = client.get(f"/api/v1/releases/{built.id}/download/csv")
    assert response.status_code == 404 and "was not built in the csv format" in response.json()["detail"]
    assert client.get(f"/api/v1/releases/{built.id}/download/rar").status_code == 404
    assert not AuditEvent.objects.filter(action="release.download").exists()


def test_manifest_pages_with_constant_queries(api, corpus, built, django_assert_max_num_queries):
    client = api(corpus["users"]["exporter"])
    keys = []
    url = f"/api/v1/releases/{built.id}/manifest?page_size=5"
    while url:
        with django_assert_max_num_queries(8):
            page = client.get(url).json()
        keys += [row["key"] for row in page["results"]]
        url = page["next"]
    assert keys == list(ReleaseItem.objects.filter(release=built).order_by("id").values_list("key", flat=True))
    assert len(keys) == 18


def test_release_list_query_count_does_not_grow(api, corpus, built, django_assert_num_queries):
    client = api(corpus["users"]["exporter"])
    url = f"/api/v1/projects/{corpus['project'].id}/releases/"
    with django_assert_num_queries(2) as one:  # the role check, then one page of releases
        client.get(url)
    for v in range(2, 6):
        DatasetRelease.objects.create(project=built.project, version=v, name="x", purpose="train_models", spec={})
    with django_assert_num_queries(len(one.captured_queries)):
        rows = client.get(url).json()["results"]
    assert [r["version"] for r in rows] == [5, 4, 3, 2, 1]


def test_versions_count_per_project(api, corpus, built):
    other = ProjectFactory()
    DatasetRelease.objects.create(project=other, version=1, name="x", purpose="train_models", spec={})
    response = create(api, corpus, {"formats": ["csv"]})
    assert response.status_code == 201 and response.json()["version"] == 2


def test_a_language_filter_is_checked_against_the_project_not_the_whole_database(api, corpus):
    """Bug: the check used every Language row, so a tag only another project uses passed it (and the release
    then failed later with a vaguer sentence)."""
    from tests.catalog.factories import RecordingFactory

    RecordingFactory(project=ProjectFactory(), language=LanguageFactory(tag="fr"))  # another project's language
    response = create(api, corpus, {"filters": {"languages": ["fr"]}})
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "Unknown language 'fr': no recording of the project uses that tag."
    assert not DatasetRelease.objects.exists()
    assert create(api, corpus, {"filters": {"languages": ["en"]}, "formats": ["csv"]}).status_code == 201


def test_the_spec_check_has_no_second_purpose_rule_besides_the_consent_selector():
    """Bug: release_spec_normalise took `allowed_purposes`, which every caller passed as None, so its refusal
    could never run; the consent selector (candidates_require) is the one that decides."""
    import inspect

    from apps.datasets.services.spec import release_spec_normalise

    assert "allowed_purposes" not in inspect.signature(release_spec_normalise).parameters
    normalised = release_spec_normalise(spec={"purpose": "commercial"}, project_labels=set(), project_languages=None)
    assert normalised["purpose"] == "commercial"


def test_only_the_roles_the_project_chooses_download_releases(api, corpus, built):
    """Default: managers and exporters. Viewers, annotators and reviewers see the release but not its content."""
    users, project = corpus["users"], corpus["project"]
    for role in ("viewer", "annotator", "reviewer"):
        client = api(users[role])
        assert client.get(f"/api/v1/releases/{built.id}/").status_code == 200
        for url in (f"/api/v1/releases/{built.id}/download/jsonl", f"/api/v1/releases/{built.id}/manifest"):
            response = client.get(url)
            assert response.status_code == 403 and "exporter or manager role" in response.json()["detail"], (role, url)
    assert api(users["manager"]).get(f"/api/v1/releases/{built.id}/download/jsonl?list=1").status_code == 200
    project.release_download_roles = ["viewer"]
    project.save()
    assert api(users["viewer"]).get(f"/api/v1/releases/{built.id}/download/jsonl?list=1").status_code == 200
    assert api(users["exporter"]).get(f"/api/v1/releases/{built.id}/download/jsonl?list=1").status_code == 403
