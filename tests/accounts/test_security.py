"""Accounts hardening (issue 13): lockout after repeated failures, expiring tokens their owner lists and
revokes, sign-in events in the audit log, and who may create projects. Each test fails on main before it."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import token_create
from apps.consent.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "pw-not-secret-123"  # tests/conftest.py make_user


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # DRF throttle counters live in the default cache
    yield
    cache.clear()


def _cool_off_passes():
    """Move every recorded failure back past the cool-off, as if AXES_COOLOFF_TIME had gone by."""
    from django.conf import settings

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


def test_api_token_right_password_after_20_wrong_is_refused_until_lockout_ends(client, make_user):
    make_user("victim")
    for _ in range(20):
        cache.clear()  # take the per-minute throttle out of the way: this is about the lockout
        response = client.post("/api/v1/auth/token/", {"username": "victim", "password": "guess"})
        assert response.status_code in (400, 429)
    cache.clear()
    response = client.post("/api/v1/auth/token/", {"username": "victim", "password": PASSWORD})
    assert response.status_code == 429, response.content
    assert "Too many failed sign-ins" in response.json()["detail"] and "token" not in response.json()
    assert ApiToken.objects.count() == 0
    _cool_off_passes()
    response = client.post("/api/v1/auth/token/", {"username": "victim", "password": PASSWORD})
    assert response.status_code == 201 and response.json()["token"]


def test_login_page_right_password_after_20_wrong_is_refused_until_lockout_ends(client, make_user):
    make_user("victim")
    for _ in range(20):
        client.post("/accounts/login/", {"username": "victim", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content and "_auth_user_id" not in client.session
    _cool_off_passes()
    response = client.post("/accounts/login/", {"username": "victim", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_token_endpoint_is_throttled(client, make_user, settings):
    make_user("someone")
    # A different name each time, so no lockout is involved: only the per-client rate.
    responses = [client.post("/api/v1/auth/token/", {"username": f"nobody{i}", "password": "x"}) for i in range(12)]
    assert [r.status_code for r in responses] == [400] * 10 + [429, 429]
    assert "throttled" in responses[-1].json()["detail"]


def test_sign_in_events_are_audited_without_personal_data(client, make_user):
    user = make_user("alice")
    client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})
    client.post("/accounts/login/", {"username": "no-such-person", "password": "wrong-password"})
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    events = list(AuditEvent.objects.order_by("id").values_list("action", "actor_id", "actor_kind", "data"))
    assert events == [
        ("auth.login_failed", user.id, "user", {"via": "page"}),
        ("auth.login_failed", None, "anonymous", {"via": "page"}),
        ("auth.login_succeeded", user.id, "user", {"via": "page"}),
        ("auth.login_succeeded", user.id, "user", {"via": "api"}),
    ]
    stored = str(list(AuditEvent.objects.values()))
    assert "alice" not in stored and "no-such-person" not in stored and "wrong-password" not in stored


def test_lockout_is_audited(client, make_user, settings):
    user = make_user("bob")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_id=user.id).exists()


def test_tokens_expire(client, make_user):
    user = make_user("scripter")
    token = token_create(user=user)
    assert token.expires_at - timezone.now() > timedelta(days=29)
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert token.key not in str(list(ApiToken.objects.values()))  # only its hash is stored


def test_owner_lists_and_revokes_tokens_and_nobody_else_can(api, client, make_user):
    owner, other = make_user("owner"), make_user("other")
    first = token_create(user=owner, name="laptop")
    created = client.post(
        "/api/v1/auth/tokens/",
        {"name": "ci", "days": 7},
        HTTP_AUTHORIZATION=f"Token {first.key}",
        content_type="application/json",
    )
    assert created.status_code == 201
    second = created.json()
    listed = client.get("/api/v1/auth/tokens/", HTTP_AUTHORIZATION=f"Token {first.key}").json()
    assert [t["name"] for t in listed] == ["ci", "laptop"] and all("token" not in t for t in listed)
    # Another user's revoke is a 404 and changes nothing.
    assert api(other).delete(f"/api/v1/auth/tokens/{second['id']}/").status_code == 404
    assert api(other).get("/api/v1/auth/tokens/").json() == []
    assert (
        client.delete(f"/api/v1/auth/tokens/{second['id']}/", HTTP_AUTHORIZATION=f"Token {first.key}").status_code
        == 204
    )
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {second['token']}").status_code == 401
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {first.key}").status_code == 200


def test_token_page_creates_lists_and_revokes(client, make_user):
    user = make_user("pageuser")
    client.force_login(user)
    page = client.post("/account/tokens/", {"action": "create", "name": "notebook"})
    key = page.context["new_key"]
    assert key and key.encode() in page.content
    token = ApiToken.objects.get(user=user)
    assert b"notebook" in client.get("/account/tokens/").content
    assert key.encode() not in client.get("/account/tokens/").content
    client.post("/account/tokens/", {"action": "revoke", "token_id": token.id})
    assert not ApiToken.objects.filter(user=user).exists()


def test_only_staff_create_projects_by_default(api, make_user, settings):
    response = api(make_user("eager")).post("/api/v1/projects/", {"name": "Mine"}, format="json")
    assert response.status_code == 403 and "site administrators" in response.json()["detail"]
    assert (
        api(make_user("admin1", is_staff=True)).post("/api/v1/projects/", {"name": "Ok"}, format="json").status_code
        == 201
    )
    settings.EARMARK_PROJECT_CREATORS = "users"
    assert api(make_user("eager2")).post("/api/v1/projects/", {"name": "Mine"}, format="json").status_code == 201
