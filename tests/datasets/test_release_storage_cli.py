"""Releases on S3 (moto's server over HTTP) and the CLI: build_release, pull_release."""

import hashlib
import io
import json
import tarfile

import pytest
import requests
from django.core.management import CommandError, call_command

from apps.consent.models import AuditEvent
from apps.datasets.models import DatasetRelease, ReleaseItem
from apps.datasets.services import release_build, release_create
from apps.datasets.services.storage import _RemoteFile
from tests.conftest import s3_keys
from tests.datasets.test_formats import read_back

pytestmark = pytest.mark.django_db


@pytest.mark.s3
def test_release_on_s3_lists_every_object_presigns_files_and_streams_the_tar(
    s3_storage, corpus, api, monkeypatch, tmp_path
):
    client_s3, bucket = s3_storage
    monkeypatch.setattr(_RemoteFile, "SMALL", 20_000)  # push the larger files through the multipart path
    release = release_create(
        actor=None,
        project_id=corpus["project"].id,
        spec={"unit": "region", "formats": ["webdataset", "jsonl"]},
        enqueue=False,
    )
    release = release_build(release_id=release.id)
    assert release.status == "ready", release.error
    for fmt in ("webdataset", "jsonl"):
        prefix = f"{release.storage_prefix}{fmt}/"
        keys = s3_keys(client_s3, bucket, prefix)
        sums = client_s3.get_object(Bucket=bucket, Key=prefix + "SHA256SUMS")["Body"].read().decode().splitlines()
        listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums}
        assert sorted(prefix + p for p in [*listed, "SHA256SUMS"]) == keys
        for path, digest in listed.items():
            body = client_s3.get_object(Bucket=bucket, Key=prefix + path)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == digest, path
    assert any(
        len(client_s3.get_object(Bucket=bucket, Key=k)["Body"].read()) > 20_000
        for k in s3_keys(client_s3, bucket, release.storage_prefix)
    )

    client = api(corpus["users"]["exporter"])
    one = client.get(f"/api/v1/releases/{release.id}/download/jsonl", {"file": "SHA256SUMS"})
    assert one.status_code == 302 and "Signature" in one["Location"]
    assert (
        requests.get(one["Location"], timeout=10).content.decode().splitlines()
        == client_s3.get_object(Bucket=bucket, Key=f"{release.storage_prefix}jsonl/SHA256SUMS")["Body"]
        .read()
        .decode()
        .splitlines()
    )
    body = b"".join(client.get(f"/api/v1/releases/{release.id}/download/webdataset").streaming_content)
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    [root] = list((tmp_path / "x").iterdir())
    got = read_back("webdataset", root, tmp_path)
    assert sorted(got) == sorted(ReleaseItem.objects.filter(release=release).values_list("key", flat=True))


@pytest.mark.s3
def test_failed_build_on_s3_leaves_no_object(s3_storage, corpus, monkeypatch):
    client_s3, bucket = s3_storage
    release = release_create(actor=None, project_id=corpus["project"].id, spec={"formats": ["jsonl"]}, enqueue=False)

    def broken(n, total):
        if n == 3:
            raise OSError("disk on fire")

    with pytest.raises(OSError):
        release_build(release_id=release.id, on_progress=broken)
    release.refresh_from_db()
    assert release.status == "failed" and "disk on fire" in release.error
    assert s3_keys(client_s3, bucket, "releases/") == []
    assert not ReleaseItem.objects.filter(release=release).exists()


def test_build_release_and_pull_release_commands(corpus, tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "cli", "unit": "region", "formats": ["lhotse", "csv"]}))
    call_command("build_release", str(corpus["project"].id), "--spec", str(spec))
    release = DatasetRelease.objects.get()
    assert release.status == "ready" and "ready: 18 examples" in capsys.readouterr().out
    out = tmp_path / "pulled"
    call_command("pull_release", str(release.id), "--format", "lhotse", "--out", str(out))
    got = read_back("lhotse", out, tmp_path)
    assert sorted(got) == sorted(ReleaseItem.objects.filter(release=release).values_list("key", flat=True))
    assert AuditEvent.objects.filter(action="release.download", object_id=str(release.id)).count() == 1
    with pytest.raises(CommandError, match="not empty"):
        call_command("pull_release", str(release.id), "--format", "lhotse", "--out", str(out))
    with pytest.raises(CommandError, match="was not built in the jsonl format"):
        call_command("pull_release", str(release.id), "--format", "jsonl", "--out", str(tmp_path / "j"))


def test_build_release_command_reports_a_bad_spec(corpus, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"filters": {"labels": ["wolf"]}}))
    with pytest.raises(CommandError, match="Unknown label 'wolf'"):
        call_command("build_release", str(corpus["project"].id), "--spec", str(spec))
    spec.write_text("{not json")
    with pytest.raises(CommandError, match="Cannot read the spec file"):
        call_command("build_release", str(corpus["project"].id), "--spec", str(spec))
    assert not DatasetRelease.objects.exists()
