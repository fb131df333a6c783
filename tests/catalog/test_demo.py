"""`make run`'s first-run setup: an admin, and a demo that is processed and ready to annotate."""

import pytest
from django.core.management import call_command

from apps.annotation.models import Label
from apps.catalog.models import Project, RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable


@pytest.mark.django_db(transaction=True)
def test_bootstrap_demo_gives_usable_processed_recordings_and_labels(capsys, django_user_model):
    call_command("bootstrap_demo")
    out = capsys.readouterr().out
    assert "password:" in out
    admin = django_user_model.objects.get(username="admin")
    project = Project.objects.get(name="Demo")
    usable = recordings_usable(admin, Purpose.ANNOTATE).filter(project=project)
    assert usable.count() == 5
    assert set(usable.values_list("status", flat=True)) == {RecordingStatus.READY}
    assert set(Label.objects.filter(project=project).values_list("hotkey", flat=True)) >= {"1", "2", "3"}

    call_command("bootstrap_demo")  # safe to repeat: no second admin, no second demo
    assert "password:" not in capsys.readouterr().out
    assert Project.objects.filter(name="Demo").count() == 1
