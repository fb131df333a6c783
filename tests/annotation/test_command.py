"""The annotation_schema command: a thin wrapper over labels_set and labels_schema."""

import json

import pytest
from django.core.management import CommandError, call_command

from apps.annotation.models import Label

pytestmark = pytest.mark.django_db


def test_load_and_dump_schema(schema, tmp_path, capsys):
    project = schema[0]
    path = tmp_path / "schema.json"
    path.write_text(
        json.dumps(
            {"region_labels": [{"name": "bird", "hotkey": "1"}, {"name": "speech"}], "clip_labels": [], "overlap": 2}
        )
    )
    Label.objects.filter(kind="clip").delete()
    call_command("annotation_schema", str(project.id), "--load", str(path))
    out = json.loads(capsys.readouterr().out)
    assert [lb["name"] for lb in out["region_labels"]] == ["bird", "speech"]
    assert out["overlap"] == 2 and out["clip_labels"] == []


def test_bad_schema_file_is_refused_and_changes_nothing(schema, tmp_path):
    project = schema[0]
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"region_labels": [{"name": "a", "hotkey": "x"}]}))
    with pytest.raises(CommandError, match="must be one of the keys 1 to 9"):
        call_command("annotation_schema", str(project.id), "--load", str(path))
    with pytest.raises(CommandError, match="No project with id 999999"):
        call_command("annotation_schema", "999999")
    assert sorted(Label.objects.values_list("name", flat=True)) == ["clean", "noise", "noisy", "speech"]
