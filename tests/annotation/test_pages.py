"""The annotator pages render the config the frontend reads; refusals match the API."""

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _config(response) -> dict:
    match = re.search(
        r'<script id="annotator-config" type="application/json">(.*?)</script>', response.content.decode()
    )
    assert match, "the page must carry the annotator-config json_script"
    return json.loads(match.group(1))


def test_annotate_page_renders_config(schema):
    project, users, _ = schema
    response = _client(users["annotator"]).get(f"/projects/{project.id}/annotate/")
    assert response.status_code == 200
    config = _config(response)
    assert config["project_id"] == project.id and config["annotation_id"] is None
    assert config["mode"] == "annotate" and config["api_base"] == "/api/v1"
    assert config["user_id"] == users["annotator"].id and len(config["csrf_token"]) >= 32
    assert config["next_url"] == f"/projects/{project.id}/"
    assert "annotation/annotator.js" in response.content.decode()


def test_annotate_page_refusals(schema, make_user):
    project, users, _ = schema
    assert _client(users["viewer"]).get(f"/projects/{project.id}/annotate/").status_code == 403
    assert _client(users["reviewer"]).get(f"/projects/{project.id}/annotate/").status_code == 403
    assert _client(make_user("stranger")).get(f"/projects/{project.id}/annotate/").status_code == 404
    anonymous = Client().get(f"/projects/{project.id}/annotate/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_edit_page_only_for_the_annotator(item, schema):
    _, annotation, _ = item
    project, users, _ = schema
    response = _client(users["annotator"]).get(f"/annotations/{annotation['id']}/edit/")
    assert response.status_code == 200
    assert _config(response)["annotation_id"] == annotation["id"]
    assert _config(response)["project_id"] == project.id
    assert _client(users["manager"]).get(f"/annotations/{annotation['id']}/edit/").status_code == 404


def test_start_labelling_button_for_annotators_only(schema):
    project, users, _ = schema
    link = f'href="/projects/{project.id}/annotate/"'
    assert link in _client(users["annotator"]).get(f"/projects/{project.id}/").content.decode()
    assert link in _client(users["manager"]).get(f"/projects/{project.id}/").content.decode()
    assert link not in _client(users["viewer"]).get(f"/projects/{project.id}/").content.decode()
