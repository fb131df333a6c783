"""manage.py process: recipe from a file, inline run with a progress bar, only-missing, clear errors."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.processing.models import Artifact, JobStatus, ProcessingJob, Recipe
from tests.processing.helpers import ingest

pytestmark = pytest.mark.django_db


def test_process_inline_with_a_recipe_file_then_only_missing(project_with_roles, tmp_path):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=1.0)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"features": {"n_mels": 40}, "artifacts": ["peaks", "mel"]}))
    out, err = io.StringIO(), io.StringIO()
    call_command("process", str(project.id), "--recipe", str(recipe), "--inline", stdout=out, stderr=err)
    assert "1 done, 0 failed" in out.getvalue()
    assert "100%" in err.getvalue()  # the tqdm bar
    active = Recipe.objects.get(project=project, name=f"from {recipe}")
    assert active.spec["features"]["n_mels"] == 40
    kinds = set(Artifact.objects.filter(recipe_hash=active.spec_hash).values_list("kind", flat=True))
    assert kinds == {"peaks", "mel"}
    parent = ProcessingJob.objects.get(kind="project")
    assert parent.status == JobStatus.DONE and parent.children.get().recording_id == recording.id
    out = io.StringIO()
    call_command("process", project.name, "--only-missing", "--inline", stdout=out, stderr=io.StringIO())
    assert "0 recording(s) to process" in out.getvalue()


@pytest.mark.parametrize(
    "content, words", [("{not json", "not valid JSON"), ('{"target_sample_rate": 5}', "target_sample_rate")]
)
def test_process_refuses_a_bad_recipe_file_and_writes_nothing(project_with_roles, tmp_path, content, words):
    project, _ = project_with_roles
    recipe = tmp_path / "recipe.json"
    recipe.write_text(content)
    with pytest.raises(CommandError, match=words):
        call_command("process", str(project.id), "--recipe", str(recipe), "--inline")
    assert not Recipe.objects.exists() and not ProcessingJob.objects.filter(kind="project").exists()


def test_process_unknown_project_or_missing_file(project_with_roles, tmp_path):
    with pytest.raises(CommandError, match="no project 'Nope'"):
        call_command("process", "Nope")
    project, _ = project_with_roles
    with pytest.raises(CommandError, match="Cannot read the recipe file"):
        call_command("process", str(project.id), "--recipe", str(tmp_path / "missing.json"))
