"""manage.py import_audio PROJECT PATH|s3://bucket/prefix — a line per file (or --quiet), a progress bar, a summary."""

import logging
import sys
import warnings
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.catalog import services
from apps.catalog.models import Project
from apps.core.errors import DomainError

# Libraries that log chatter the person importing cannot act on (kombu: "No hostname was supplied").
_QUIET_LOGGERS = ("kombu", "celery", "botocore", "boto3", "urllib3", "s3transfer", "numba")


class Command(BaseCommand):
    help = "Import every audio file below a server folder or an S3 prefix into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("source", help="a folder path, or s3://bucket/prefix")
        parser.add_argument("--quiet", action="store_true", help="print only the summary, no line per file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *, project, source, quiet=False, no_progress=False, **_):
        proj = (
            Project.objects.filter(id=int(project)).first()
            if project.isdigit()
            else Project.objects.filter(name=project).first()
        )
        if proj is None:
            raise CommandError(f"no project {project!r}")
        # The bar goes to stderr with a fixed width, so it draws the same in a terminal, a pipe or a CI log.
        err = getattr(self.stderr, "_out", sys.stderr)
        out = getattr(self.stdout, "_out", sys.stdout)
        bar = tqdm(
            unit="file",
            desc="importing",
            file=err,
            ncols=80,
            disable=no_progress,
            mininterval=0.5,
            dynamic_ncols=False,
            leave=True,
        )
        counts: Counter = Counter()

        def progress(result):
            counts[result.status] += 1
            bar.update(1)
            if not quiet:
                reason = result.message.split(": ", 1)[1] if ": " in result.message else result.message
                shown = result.extra.get("path") or result.name
                line = f"{result.status:<11} {shown}" + (f"  ({reason})" if reason else "")
                bar.clear()
                out.write(line + "\n")
                out.flush()
                bar.refresh()

        runner = services.import_s3_prefix if source.startswith("s3://") else services.import_folder
        kwargs = {"uri": source} if source.startswith("s3://") else {"path": source}
        saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
        try:
            for name in _QUIET_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                runner(
                    project=proj, progress=progress, total=lambda n: setattr(bar, "total", n) or bar.refresh(), **kwargs
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            bar.close()
            for name, level in saved.items():
                logging.getLogger(name).setLevel(level)
        summary = ", ".join(
            [
                f"{counts['accepted']} accepted",
                f"{counts['quarantined']} quarantined",
                f"{counts['duplicate']} duplicates",
            ]
            + [
                f"{n} {status}"
                for status, n in counts.items()
                if status not in ("accepted", "quarantined", "duplicate", "rejected")
            ]
            + [f"{counts['rejected']} rejected"]
        )
        self.stdout.write(summary)
