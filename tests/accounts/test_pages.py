"""Running a team without the Django admin: create a project, set it up, add people, hand out tokens."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from apps.accounts.models import ApiToken, Membership
from apps.annotation.models import Label
from apps.catalog.models import Project
from apps.consent.models import ProjectConsentPolicy

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_staff_creates_a_project_and_becomes_its_manager(make_user):
    boss = make_user("boss", is_staff=True)
    client = _client(boss)
    response = client.post(
        "/projects/new/", {"name": "Birdsong", "description": "dawn chorus", "target_sample_rate": "22050"}
    )
    project = Project.objects.get(name="Birdsong")
    assert response.status_code == 302 and response.url == f"/projects/{project.id}/settings/"
    assert project.target_sample_rate == 22050
    assert Membership.objects.get(project=project, user=boss).role == "manager"


def test_project_creation_refuses_bad_input_with_a_sentence_and_writes_nothing(make_user):
    client = _client(make_user("boss", is_staff=True))
    response = client.post("/projects/new/", {"name": "  ", "target_sample_rate": "16000"})
    assert response.status_code == 400 and "needs a name" in response.content.decode()
    response = client.post("/projects/new/", {"name": "X", "target_sample_rate": "fast"})
    assert response.status_code == 400 and "whole number" in response.content.decode()
    response = client.post("/projects/new/", {"name": "X", "target_sample_rate": "100"})
    assert response.status_code == 400 and "8000 to 192000" in response.content.decode()
    assert not Project.objects.exists()


def test_non_staff_cannot_create_projects(make_user):
    client = _client(make_user("plain"))
    assert client.get("/projects/new/").status_code == 403
    assert "New project" not in client.get("/").content.decode()


def test_settings_page_writes_labels_recipe_and_consent_policy(project_with_roles):
    project, users = project_with_roles
    client = _client(users["manager"])
    page = client.get(f"/projects/{project.id}/settings/")
    assert page.status_code == 200 and 'name="recipe"' in page.content.decode()
    r = client.post(
        f"/projects/{project.id}/settings/",
        {
            "section": "labels",
            "clip_labels": "clean",
            "transcript": "on",
            "region_labels": "speech #2563eb 1\nlaughter 2",
        },
    )
    assert r.status_code == 302
    assert {(lb.name, lb.hotkey) for lb in Label.objects.filter(project=project)} == {
        ("speech", "1"),
        ("laughter", "2"),
        ("clean", ""),
    }

    r = client.post(f"/projects/{project.id}/settings/", {"section": "recipe", "recipe": "{not json"})
    assert r.status_code == 400 and "not valid JSON" in r.content.decode()
    recipe = json.loads(
        re.search(r'name="recipe"[^>]*>([^<]*)<', client.get(f"/projects/{project.id}/settings/").content.decode())
        .group(1)
        .replace("&quot;", '"')
    )
    recipe["target_sample_rate"] = 8000
    r = client.post(f"/projects/{project.id}/settings/", {"section": "recipe", "recipe": json.dumps(recipe)})
    assert r.status_code == 302, r.content.decode()[:2000]

    policy = {f"{use}_purposes": ["store"] for use in ("ingest", "store", "annotate", "review")}
    policy |= {
        "train_models_purposes": ["store", "train_models"],
        "public_release_purposes": ["public_release"],
        "commercial_purposes": ["commercial"],
        "on_missing": "reject",
        "retention_days": "30",
    }
    r = client.post(f"/projects/{project.id}/settings/", {"section": "consent", **policy})
    assert r.status_code == 302
    stored = ProjectConsentPolicy.objects.get(project=project)
    assert stored.on_missing == "reject" and stored.retention_days == 30

    r = client.post(f"/projects/{project.id}/settings/", {"section": "consent", **policy, "retention_days": "soon"})
    assert r.status_code == 400 and "whole number of days" in r.content.decode()
    assert ProjectConsentPolicy.objects.get(project=project).retention_days == 30


def test_settings_page_is_for_managers_only(project_with_roles):
    project, users = project_with_roles
    for role in ("annotator", "reviewer", "viewer"):
        assert _client(users[role]).get(f"/projects/{project.id}/settings/").status_code == 404


def test_manager_creates_a_user_whose_one_time_link_sets_a_password(project_with_roles):
    project, users = project_with_roles
    client = _client(users["manager"])
    r = client.post(f"/projects/{project.id}/members/", {"action": "create", "username": "newbie", "role": "annotator"})
    assert r.status_code == 200
    link = re.search(r'data-testid="password-link"[^>]*>([^<]+)<', r.content.decode()).group(1)
    newbie = get_user_model().objects.get(username="newbie")
    assert not newbie.has_usable_password()
    assert Membership.objects.get(project=project, user=newbie).role == "annotator"

    visitor = Client()
    form = visitor.get(link, follow=True)
    assert "Set your password" in form.content.decode() and "newbie" in form.content.decode()
    done = visitor.post(
        form.redirect_chain[-1][0], {"new_password1": "a-long-pass-phrase-9", "new_password2": "a-long-pass-phrase-9"}
    )
    assert done.status_code == 302
    # django-axes needs a request to authenticate, and Client.login() passes none unless given one.
    assert Client().login(request=HttpRequest(), username="newbie", password="a-long-pass-phrase-9")
    again = Client().get(link, follow=True)
    assert 'data-testid="link-invalid"' in again.content.decode()  # one time only


def test_members_page_adds_existing_users_changes_roles_and_keeps_a_manager(project_with_roles, make_user):
    project, users = project_with_roles
    client = _client(users["manager"])
    make_user("outsider")
    assert (
        client.post(
            f"/projects/{project.id}/members/", {"action": "add", "username": "outsider", "role": "reviewer"}
        ).status_code
        == 302
    )
    assert Membership.objects.get(project=project, user__username="outsider").role == "reviewer"
    r = client.post(f"/projects/{project.id}/members/", {"action": "add", "username": "nobody", "role": "reviewer"})
    assert r.status_code == 400 and "No user is called" in r.content.decode()
    r = client.post(f"/projects/{project.id}/members/", {"action": "create", "username": "annotator", "role": "viewer"})
    assert r.status_code == 409 and "already a user" in r.content.decode()
    mine = Membership.objects.get(project=project, user=users["manager"])
    r = client.post(f"/projects/{project.id}/members/", {"action": "remove", "membership": mine.id})
    assert r.status_code == 409 and "only manager" in r.content.decode()
    r = client.post(f"/projects/{project.id}/members/", {"action": "role", "membership": mine.id, "role": "viewer"})
    assert r.status_code == 409
    assert Membership.objects.get(id=mine.id).role == "manager"
    assert _client(users["annotator"]).get(f"/projects/{project.id}/members/").status_code == 404


def test_tokens_page_shows_a_new_key_once_and_revokes_it(make_user):
    user = make_user("scripter")
    client = _client(user)
    r = client.post("/account/tokens/", {"action": "create"})
    key = re.search(r'data-testid="token-key">([A-Za-z0-9_-]+)<', r.content.decode()).group(1)
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/projects/").status_code == 200
    listing = client.get("/account/tokens/").content.decode()
    assert key not in listing and key[:8] in listing  # shown once; afterwards only its prefix
    token = ApiToken.objects.get(user=user)
    assert client.post("/account/tokens/", {"action": "revoke", "token_id": token.id}).status_code == 302
    assert not ApiToken.objects.filter(user=user).exists()
    assert api.get("/api/v1/projects/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_bootstrap_demo_creates_an_annotator_and_a_reviewer(capsys):
    call_command("bootstrap_demo")
    out = capsys.readouterr().out
    project = Project.objects.get(name="Demo")
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"admin": "manager", "annotator": "annotator", "reviewer": "reviewer"}
    for name in ("admin", "annotator", "reviewer"):
        password = re.search(rf"{name}\s+password: (\S+)", out).group(1)
        assert Client().login(request=HttpRequest(), username=name, password=password)


def test_review_page_says_when_the_waiting_work_is_your_own(project_with_roles, wav_bytes):
    from apps.annotation.services import annotation_submit, queue_next
    from apps.catalog.services import recordings_ingest_many

    project, users = project_with_roles
    Membership.objects.filter(user=users["reviewer"]).update(role="manager")  # a manager who also labels
    recordings_ingest_many(
        project=project, files=[("a.wav", __import__("io").BytesIO(wav_bytes(1.0)))], created_by=users["manager"]
    )
    annotation, _ = queue_next(project_id=project.id, user=users["reviewer"])
    annotation_submit(annotation=annotation, user=users["reviewer"], version=annotation.version)
    page = _client(users["reviewer"]).get(f"/projects/{project.id}/review/").content.decode()
    assert "1 submitted annotation waiting for review\n      is yours" in page
    assert "Nobody reviews their own work" in page
