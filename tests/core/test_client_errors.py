"""Requests a client can get wrong are answered with a 4xx and a sentence, never a 500, and write nothing."""

import io

import pytest
from django.test import Client

from apps.annotation.services import labels_set
from apps.catalog.models import ImportBatch, Recording
from apps.core.middleware import ID_MAX, integer_out_of_range
from tests.conftest import make_audio

BIG = "99999999999999999999999"
pytestmark = pytest.mark.django_db


def _no_trace(res):
    body = res.content.decode(errors="replace")
    assert "Traceback" not in body and "Error:" not in body and "<" not in body[:1], body[:300]


def test_non_utf8_sidecar_on_upload_is_a_400_sentence_and_stores_nothing(api, project_with_roles, _media_storage):
    project, users = project_with_roles
    client = api(users["manager"])
    res = client.post(
        f"/api/v1/projects/{project.id}/recordings/",
        {
            "files": [io.BytesIO(make_audio(seconds=0.2))],
            "sidecar": io.BytesIO("file;speaker\nä.wav;x\n".encode("latin-1") + b"\xff\xfe"),
        },
        format="multipart",
    )
    assert res.status_code == 400
    assert "is not UTF-8 text" in res.json()["detail"]
    _no_trace(res)
    assert not Recording.objects.filter(project=project).exists()
    assert not [p for p in _media_storage.rglob("*") if p.is_file()]


def test_non_utf8_sidecar_in_a_zip_import_is_a_400_sentence(api, project_with_roles):
    import zipfile

    project, users = project_with_roles
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.wav", make_audio(seconds=0.2))
        zf.writestr("metadata.csv", b"file,speaker\n\xff\xfe.wav,x\n")
    buf.seek(0)
    buf.name = "batch.zip"
    res = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/imports/", {"source": "zip", "file": buf}, format="multipart"
    )
    assert res.status_code == 400 and "is not UTF-8 text" in res.json()["detail"]
    assert not Recording.objects.filter(project=project).exists() and not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/annotations/?project={big}",
        "/api/v1/jobs/?project={big}",
        "/api/v1/speakers/?project={big}",
        "/api/v1/annotations/?project=-{big}",
        "/api/v1/projects/{pid}/recordings/?speaker=1,{big}",
    ],
)
def test_integer_query_parameters_beyond_an_id_are_a_400_sentence(api, project_with_roles, url):
    project, users = project_with_roles
    res = api(users["manager"]).get(url.format(big=BIG, pid=project.id))
    assert res.status_code == 400
    assert res.json()["detail"].endswith(f"is too large: numbers in a request may be at most {ID_MAX}.")


@pytest.mark.parametrize(
    "url", ["/api/v1/projects/{big}/", "/api/v1/projects/{big}/recordings/", "/api/v1/annotations/{big}/"]
)
def test_ids_in_the_path_beyond_an_id_are_not_found(api, project_with_roles, url):
    _, users = project_with_roles
    res = api(users["manager"]).get(url.format(big=BIG))
    assert res.status_code == 404 and res.json()["detail"]


def test_pages_with_huge_ids_are_not_found(project_with_roles):
    _, users = project_with_roles
    client = Client()
    client.force_login(users["manager"])
    assert client.get(f"/projects/{BIG}/dashboard/").status_code == 404


def test_integer_bounds():
    assert integer_out_of_range(str(ID_MAX + 1)) and integer_out_of_range("-" + str(ID_MAX + 1))
    assert integer_out_of_range("9" * 5000)
    assert not integer_out_of_range(str(ID_MAX)) and not integer_out_of_range("12") and not integer_out_of_range("x")


def test_label_with_tex_markup_does_not_break_the_dashboard(project_with_roles):
    project, users = project_with_roles
    labels_set(
        project_id=project.id,
        region_labels=[{"name": r"$\frac{a}{$"}, {"name": "$x$"}],
        clip_labels=[{"name": "cost $5 and $6"}],
    )
    from apps.annotation.models import Label
    from tests.catalog.factories import RecordingFactory
    from tests.review.conftest import do_work, region

    RecordingFactory(project=project, duration=2.0, status="ready")
    ids = dict(Label.objects.filter(project=project).values_list("name", "id"))
    do_work(users["manager"], project, [region("a", 0, 0.5, ids[r"$\frac{a}{$"]), region("b", 1, 1.5, ids["$x$"])])
    client = Client()
    client.force_login(users["manager"])
    res = client.get(f"/projects/{project.id}/dashboard/")
    assert res.status_code == 200
    html = res.content.decode()
    # Charts are SVGs in <img> data URIs (the CSP forbids their inline styles): the names are drawn in them as the
    # text they are, not as TeX.
    import base64
    import re

    uris = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)
    svgs = "".join(base64.b64decode(b).decode() for b in uris)
    assert r"$\frac{a}{$" in svgs and "$x$" in svgs


def test_an_id_beyond_the_range_in_a_request_body_is_not_a_500(api, project_with_roles):
    _, users = project_with_roles
    res = api(users["manager"]).post(
        "/api/v1/consent-forms/", {"project": int(BIG), "title": "t", "text": "x", "purposes": ["store"]}, format="json"
    )
    assert res.status_code in (403, 404) and res.json()["detail"]
