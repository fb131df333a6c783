"""manage.py import_audio PROJECT PATH|s3://bucket/prefix — per-file results with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.catalog import services
from apps.catalog.models import Project
from apps.core.errors import DomainError


class Command(BaseCommand):
    help = "Import every audio file below a server folder or an S3 prefix into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("source", help="a folder path, or s3://bucket/prefix")

    def handle(self, *, project, source, **_):
        proj = Project.objects.filter(id=int(project)).first() if project.isdigit() else Project.objects.filter(name=project).first()
        if proj is None:
            raise CommandError(f"no project {project!r}")
        bar = tqdm(unit="file", desc="importing", disable=None)
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}

        def progress(result):
            counts[result.status] += 1
            bar.update(1)
            if result.status == "rejected":
                bar.write(f"rejected  {result.message}")

        runner = services.import_s3_prefix if source.startswith("s3://") else services.import_folder
        kwargs = {"uri": source} if source.startswith("s3://") else {"path": source}
        try:
            runner(project=proj, progress=progress, total=lambda n: setattr(bar, "total", n) or bar.refresh(), **kwargs)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            bar.close()
        self.stdout.write(f"{counts['accepted']} accepted, {counts['duplicate']} duplicates, {counts['rejected']} rejected")
