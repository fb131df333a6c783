"""Run due purges now: ``manage.py purge_due [--project ID]`` (the periodic task does the same every 10 minutes)."""

from django.core.management.base import BaseCommand

from apps.consent.services.purge import purges_run_now


class Command(BaseCommand):
    help = "Run the purges that are due now (all projects, or one with --project) and say what was deleted."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, default=None, help="Only this project's purges.")

    def handle(self, *args, project=None, **options):
        counts = purges_run_now(actor="system", project_id=project)
        self.stdout.write(
            f"purged {counts['recordings']} recording(s) and {counts['speakers']} speaker "
            f"identit(ies); {counts['still_pending']} purge(s) still wait for their date"
        )
