"""The admin names import batches properly and shows durations in units; every page has a favicon."""

import pytest
from django.test import Client

from apps.catalog.models import ImportBatch
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def test_admin_says_import_batches_and_formats_durations(admin_client, project_with_roles):
    project, _ = project_with_roles
    assert str(ImportBatch._meta.verbose_name_plural) == "import batches"
    assert "Import batches" in admin_client.get("/admin/").content.decode()
    RecordingFactory(project=project, duration=96.123456)
    page = admin_client.get("/admin/catalog/recording/").content.decode()
    assert "1.6 min" in page and "96.123456" not in page


def test_pages_name_a_favicon_and_the_browser_default_path_finds_it(make_user):
    client = Client()
    client.force_login(make_user("someone"))
    assert 'rel="icon"' in client.get("/").content.decode()
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("earmark/favicon.svg")
