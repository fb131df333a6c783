"""Erase again, after a restore, what tombstones say was erased (scripts/restore.sh runs it)."""

from django.core.management.base import BaseCommand

from apps.consent.services.restore import tombstones_reapply


class Command(BaseCommand):
    help = "After restoring a backup: purge recordings and speakers that tombstones say were erased since."

    def handle(self, **_):
        counts = tombstones_reapply()
        self.stdout.write(
            f"Tombstones re-applied: {counts['recordings']} recordings and {counts['speakers']} speakers erased."
        )
