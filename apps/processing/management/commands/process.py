"""manage.py process PROJECT [--recipe FILE] [--only-missing] [--inline]: reprocess a project with a progress bar."""

import json
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.catalog.models import Project
from apps.core.errors import DomainError
from apps.processing import services
from apps.processing.models import ACTIVE_STATUSES, ProcessingJob


class Command(BaseCommand):
    help = (
        "Process every usable recording of a project with its recipe (optionally set a new one first). "
        "By default the workers do the work and this follows their progress; --inline runs it here."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("--recipe", help="a JSON file with a recipe spec to make the project's active recipe")
        parser.add_argument("--only-missing", action="store_true", help="skip recordings already processed")
        parser.add_argument("--inline", action="store_true", help="run the jobs in this process, not on workers")
        parser.add_argument("--no-wait", action="store_true", help="queue the jobs and return at once")

    def handle(self, *, project, recipe, only_missing, inline, no_wait, **_):
        target = _project(project)
        try:
            if recipe:
                spec = _read_spec(recipe)
                chosen = services.project_recipe_set(project=target, spec=spec, name=f"from {recipe}")
                self.stdout.write(f"Recipe {chosen.id} ({chosen.spec_hash[:12]}) is now active.")
            parent = services.project_reprocess(project=target, only_missing=only_missing, enqueue=not inline)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        children = list(parent.children.order_by("id").values_list("id", flat=True))
        self.stdout.write(f"Job {parent.id}: {len(children)} recording(s) to process.")
        if inline:
            for job_id in tqdm(children, unit="rec", desc="processing", file=self.stderr._out):
                services.job_run(job_id=job_id, worker="manage.py process")
        elif not no_wait:
            self._follow(parent.id, len(children))
        parent.refresh_from_db()
        agg = services.job_progress_aggregate(parent=parent)
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {parent.id} {parent.status}: {agg['counts']['done']} done, {agg['counts']['failed']} failed, "
                f"{agg['counts']['skipped']} skipped, {agg['counts']['queued'] + agg['counts']['running']} open."
            )
        )

    def _follow(self, parent_id: int, total: int) -> None:
        with tqdm(
            total=100.0,
            unit="%",
            desc=f"job {parent_id}",
            file=self.stderr._out,
            bar_format="{l_bar}{bar}| {n:.1f}/{total:.0f}%",
        ) as bar:
            while True:
                parent = ProcessingJob.objects.get(id=parent_id)
                percent = services.job_progress_aggregate(parent=parent)["percent"] if total else 100.0
                bar.update(percent - bar.n)
                if parent.status not in ACTIVE_STATUSES or not total:
                    return
                time.sleep(1.0)


def _project(ref: str) -> Project:
    project = Project.objects.filter(id=int(ref)).first() if ref.isdigit() else Project.objects.filter(name=ref).first()
    if project is None:
        raise CommandError(f"There is no project {ref!r} (give its id or exact name).")
    return project


def _read_spec(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise CommandError(f"Cannot read the recipe file {path}: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"The recipe file {path} is not valid JSON: {exc.msg} at line {exc.lineno}.") from None
