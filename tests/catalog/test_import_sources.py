"""Import sources (issue 13): imports name a registered source, never a raw bucket or path.

Each test here fails on main before issue 13, where any manager could POST
``{"source": "s3", "location": "s3://ANY-BUCKET/…"}`` (read with the platform's keys) or a folder path inside
the one shared EARMARK_IMPORT_ROOTS list.
"""

import io

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import ImportBatch, ImportSource, Recording
from apps.catalog.services import import_batch_run, import_source_create, project_create
from apps.core.errors import DomainError
from tests.conftest import make_audio, s3_keys

pytestmark = pytest.mark.django_db


def _imports_url(project):
    return f"/api/v1/projects/{project.id}/imports/"


@pytest.fixture
def drop_folders(tmp_path, settings):
    """Two projects' drop folders under one import root."""
    root = tmp_path / "imports"
    for name, seed in (("team-a", 1), ("team-b", 2)):
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.wav").write_bytes(make_audio(seed=seed))
    settings.EARMARK_IMPORT_ROOTS = [str(root)]
    return root


@pytest.fixture
def other_project(make_user):
    outsider = make_user("outsider-manager")
    return project_create(name="Other team", created_by=outsider), outsider


# --- folders ---------------------------------------------------------------------------------------------


def test_raw_folder_path_is_refused_even_inside_import_roots(api, project_with_roles, drop_folders):
    project, users = project_with_roles
    response = api(users["manager"]).post(
        _imports_url(project), {"source": "folder", "location": str(drop_folders / "team-a")}, format="json"
    )
    assert response.status_code == 400
    assert "registered import source" in response.json()["detail"]
    assert ImportBatch.objects.count() == 0 and Recording.objects.count() == 0


def test_one_project_cannot_read_another_projects_drop_folder(
    api, project_with_roles, other_project, drop_folders, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    other, outsider = other_project
    source_a = import_source_create(
        name="team A drop", kind="folder", path=str(drop_folders / "team-a"), projects=[project]
    )
    # The other project's manager names project A's source: the same 404 as a source that does not exist.
    for source_id in (source_a.id, 999999):
        response = api(outsider).post(_imports_url(other), {"source_id": source_id}, format="json")
        assert response.status_code == 404, response.json()
        assert response.json()["detail"] == "No such import source for this project."
    # ...nor climb out of a source of their own into A's folder.
    source_b = import_source_create(
        name="team B drop", kind="folder", path=str(drop_folders / "team-b"), projects=[other]
    )
    for path in ("../team-a", "/team-a", "x/../../team-a"):
        response = api(outsider).post(_imports_url(other), {"source_id": source_b.id, "path": path}, format="json")
        assert response.status_code == 400 and "'..'" in response.json()["detail"], (path, response.json())
    (drop_folders / "team-b" / "link").symlink_to(drop_folders / "team-a")
    response = api(outsider).post(_imports_url(other), {"source_id": source_b.id, "path": "link"}, format="json")
    assert response.status_code == 400 and "outside it" in response.json()["detail"]
    assert ImportBatch.objects.count() == 0 and Recording.objects.count() == 0
    # Project A's manager imports from it fine.
    with django_capture_on_commit_callbacks(execute=True):
        response = api(users["manager"]).post(_imports_url(project), {"source_id": source_a.id}, format="json")
    assert response.status_code == 202, response.json()
    assert list(Recording.objects.values_list("project_id", "original_name")) == [(project.id, "team-a.wav")]
    # Managers see only their project's sources, without credentials.
    listed = api(outsider).get(f"/api/v1/projects/{other.id}/import-sources/").json()
    assert [s["name"] for s in listed] == ["team B drop"]


def test_overlapping_or_media_folder_sources_are_refused(project_with_roles, drop_folders, settings, tmp_path):
    project, _ = project_with_roles
    import_source_create(name="team A", kind="folder", path=str(drop_folders / "team-a"), projects=[project])
    for path in (drop_folders, drop_folders / "team-a" / "sub"):
        with pytest.raises(DomainError, match="overlaps the source team A"):
            import_source_create(name="wide", kind="folder", path=str(path))
    settings.MEDIA_ROOT = str(drop_folders / "media")
    with pytest.raises(DomainError, match="platform's own media storage"):
        import_source_create(name="media", kind="folder", path=str(drop_folders / "media" / "originals"))
    with pytest.raises(DomainError, match="absolute path"):
        import_source_create(name="rel", kind="folder", path="team-b")


def test_a_project_removed_from_a_source_cannot_run_its_queued_import(project_with_roles, drop_folders):
    project, users = project_with_roles
    source = import_source_create(name="team A", kind="folder", path=str(drop_folders / "team-a"), projects=[project])
    batch = ImportBatch.objects.create(
        project=project, source="folder", import_source=source, created_by=users["manager"]
    )
    source.projects.clear()
    import_batch_run(batch_id=batch.id)
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("failed", "No such import source for this project.")
    assert Recording.objects.count() == 0


def test_only_staff_register_sources(api, project_with_roles, drop_folders, make_user):
    project, users = project_with_roles
    body = {"name": "drop", "kind": "folder", "path": str(drop_folders / "team-a"), "projects": [project.id]}
    assert api(users["manager"]).post("/api/v1/import-sources/", body, format="json").status_code == 403
    assert api(users["manager"]).get("/api/v1/import-sources/").status_code == 403
    admin = make_user("site-admin", is_staff=True)
    response = api(admin).post("/api/v1/import-sources/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["projects"] == [project.id]


# --- S3, against moto's standalone server --------------------------------------------------------------------


@pytest.fixture
def source_bucket(moto_server, request):
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="source-key",
        aws_secret_access_key="source-secret",
    )
    bucket = f"drop-{request.node.name.lower().replace('_', '-')[:30]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="team-a/a.wav", Body=make_audio(seed=31))
    client.put_object(Bucket=bucket, Key="team-a/sub/b.flac", Body=make_audio(seed=32, fmt="FLAC"))
    client.put_object(Bucket=bucket, Key="team-ab/other.wav", Body=make_audio(seed=33))
    return client, bucket


def _s3_source(moto_server, bucket, projects, **extra):
    return import_source_create(
        name=extra.pop("name", "s3 drop"),
        kind="s3",
        bucket=bucket,
        prefix="team-a",
        endpoint_url=moto_server,
        access_key_id="source-key",
        secret_access_key="source-secret",
        projects=projects,
        **extra,
    )


@pytest.mark.s3
def test_s3_source_imports_with_its_own_keys(
    api, project_with_roles, moto_server, source_bucket, monkeypatch, django_capture_on_commit_callbacks
):
    """Platform storage is local here and no AWS endpoint is configured: only the source's own endpoint and
    keys can reach the bucket. The prefix 'team-a' does not reach 'team-ab/'."""
    for var in ("AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "EARMARK_IMPORT_S3_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    project, users = project_with_roles
    _, bucket = source_bucket
    source = _s3_source(moto_server, bucket, [project])
    assert source.prefix == "team-a/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api(users["manager"]).post(_imports_url(project), {"source_id": source.id}, format="json")
    assert response.status_code == 202, response.json()
    batch = ImportBatch.objects.get(id=response.json()["id"])
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 2, 0), batch.error
    assert sorted(Recording.objects.values_list("original_name", flat=True)) == ["a.wav", "b.flac"]
    # A sub-prefix inside the source.
    assert (
        api(users["manager"])
        .post(_imports_url(project), {"source_id": source.id, "path": "sub"}, format="json")
        .status_code
        == 202
    )


@pytest.mark.s3
def test_raw_s3_location_is_refused(api, project_with_roles, s3_storage):
    """The attack from the report: any bucket, read with the platform's keys."""
    _, platform_bucket = s3_storage
    project, users = project_with_roles
    response = api(users["manager"]).post(
        _imports_url(project), {"source": "s3", "location": f"s3://{platform_bucket}/"}, format="json"
    )
    assert response.status_code == 400 and "registered import source" in response.json()["detail"]
    assert ImportBatch.objects.count() == 0 and Recording.objects.count() == 0


@pytest.mark.s3
def test_platform_bucket_is_refused_at_registration(api, make_user, project_with_roles, s3_storage, moto_server):
    _, platform_bucket = s3_storage
    project, _ = project_with_roles
    with pytest.raises(DomainError, match="platform's own storage"):
        _s3_source(moto_server, platform_bucket.upper(), [project])
    admin = make_user("site-admin", is_staff=True)
    response = api(admin).post(
        "/api/v1/import-sources/",
        {
            "name": "sneaky",
            "kind": "s3",
            "bucket": platform_bucket,
            "endpoint_url": moto_server,
            "access_key_id": "k",
            "secret_access_key": "s",
            "projects": [project.id],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"the bucket {platform_bucket} is the platform's own storage and can never be an import source"
    )
    # The platform's keys are not a source's own keys either.
    with pytest.raises(DomainError, match="its own keys"):
        import_source_create(
            name="k", kind="s3", bucket="elsewhere", access_key_id="testing", secret_access_key="testing"
        )
    # The admin form runs the same check.
    admin_client = api()
    admin_client.force_login(make_user("root", is_staff=True, is_superuser=True))
    page = admin_client.post(
        "/admin/catalog/importsource/add/",
        {
            "name": "sneaky",
            "kind": "s3",
            "bucket": platform_bucket,
            "access_key_id": "k",
            "secret_access_key": "s",
            "enabled": "on",
        },
    )
    assert page.status_code == 200 and b"platform&#x27;s own storage" in page.content
    assert ImportSource.objects.count() == 0


@pytest.mark.s3
def test_platform_bucket_is_refused_at_use(project_with_roles, moto_server, source_bucket, settings, s3_storage):
    """A source registered before the platform moved its storage into that bucket is refused on the worker."""
    client, bucket = source_bucket
    project, users = project_with_roles
    source = _s3_source(moto_server, bucket, [project])
    batch = ImportBatch.objects.create(project=project, source="s3", import_source=source, created_by=users["manager"])
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": bucket},
        },
    }
    import_batch_run(batch_id=batch.id)
    batch.refresh_from_db()
    assert batch.status == "failed" and "platform's own storage" in batch.error
    assert Recording.objects.count() == 0
    assert s3_keys(client, bucket) == ["team-a/a.wav", "team-a/sub/b.flac", "team-ab/other.wav"]


@pytest.mark.s3
def test_cli_refuses_the_platform_bucket(project_with_roles, s3_storage):
    _, platform_bucket = s3_storage
    with pytest.raises(CommandError, match="platform's own storage"):
        call_command("import_audio", "Speech", f"s3://{platform_bucket}/", stdout=io.StringIO())


@pytest.mark.s3
def test_overlapping_s3_prefixes_are_refused(project_with_roles, moto_server, source_bucket):
    _, bucket = source_bucket
    project, _ = project_with_roles
    _s3_source(moto_server, bucket, [project])
    with pytest.raises(DomainError, match="overlaps the source s3 drop"):
        import_source_create(
            name="whole bucket",
            kind="s3",
            bucket=bucket,
            prefix="",
            endpoint_url=moto_server,
            access_key_id="x",
            secret_access_key="y",
        )
    # A sibling prefix that merely starts with the same letters is a different folder.
    import_source_create(
        name="team ab",
        kind="s3",
        bucket=bucket,
        prefix="team-ab/",
        endpoint_url=moto_server,
        access_key_id="x",
        secret_access_key="y",
    )


def test_upload_page_offers_only_the_projects_sources(client, project_with_roles, other_project, drop_folders):
    project, users = project_with_roles
    other, _ = other_project
    import_source_create(name="team A drop", kind="folder", path=str(drop_folders / "team-a"), projects=[project])
    import_source_create(name="team B drop", kind="folder", path=str(drop_folders / "team-b"), projects=[other])
    client.force_login(users["manager"])
    page = client.get(f"/projects/{project.id}/upload/").content.decode()
    assert "team A drop" in page and "team B drop" not in page and "<script>" not in page
    client.force_login(other_project[1])
    assert "team A drop" not in client.get(f"/projects/{other.id}/upload/").content.decode()
