"""manage.py build_release PROJECT --spec FILE: create a release and build it here, with a progress bar."""

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.core.errors import DomainError
from apps.datasets.services import release_build, release_create


class Command(BaseCommand):
    help = "Create a release of PROJECT from a JSON spec file and build it in this process."

    def add_arguments(self, parser):
        parser.add_argument("project", type=int, help="Project id.")
        parser.add_argument("--spec", required=True, help="Path to the release spec (JSON).")

    def handle(self, *args, **opts):
        try:
            with open(opts["spec"], encoding="utf-8") as fh:
                spec = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the spec file {opts['spec']}: {exc}") from None
        try:
            # Built here rather than on a worker: the command waits for the result anyway.
            release = release_create(actor=None, project_id=opts["project"], spec=spec, enqueue=False)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        bar = tqdm(total=None, unit="example", desc=f"release v{release.version}", disable=opts["verbosity"] == 0)

        def progress(n, total):
            bar.total = total
            bar.update(n - bar.n)

        release = release_build(release_id=release.id, on_progress=progress)
        bar.close()
        if release.status != "ready":
            raise CommandError(f"Release {release.id} failed: {release.error}")
        self.stdout.write(
            f"release {release.id} (v{release.version}) ready: {release.stats.get('items')} examples, "
            f"manifest sha256 {release.content_hash}"
        )
