"""A live Earmark (pytest-django's live_server) with a real Celery worker building a release, for the client."""

import pytest

from tests.datasets.conftest import corpus, release_root  # noqa: F401  (fixtures shared with the release tests)
from tests.datasets.test_release_worker import poll

ALL_FORMATS = ["jsonl", "csv", "hf-parquet", "lhotse", "webdataset"]


@pytest.fixture
def token_for(db):
    from apps.accounts.services import token_create

    keys: dict[int, str] = {}

    def _token(user) -> str:
        if user.pk not in keys:
            keys[user.pk] = token_create(user=user).key
        return keys[user.pk]

    return _token


@pytest.fixture
def live_release(live_worker, live_server, corpus, token_for):  # noqa: F811
    """Factory: ask the live server (over HTTP, as a manager) for a release; a real worker builds it.

    Returns (release row, server URL, manager token)."""
    import requests

    from apps.datasets.models import DatasetRelease

    worker = live_worker("exports,events")
    token = token_for(corpus["users"]["manager"])

    def build(formats=ALL_FORMATS, **spec):
        response = requests.post(
            f"{live_server.url}/api/v1/projects/{corpus['project'].id}/releases/",
            json={"spec": {"unit": "region", "formats": formats, **spec}},
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        release_id = response.json()["id"]
        release = poll(
            lambda: DatasetRelease.objects.filter(id=release_id, status__in=["ready", "failed"]).first(),
            timeout=180,
            step=0.2,
        )
        assert release.status == "ready", f"{release.error}\n{worker.output()[-3000:]}"
        return release, live_server.url, token

    return build
