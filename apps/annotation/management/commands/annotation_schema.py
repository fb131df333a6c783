"""Print a project's label schema as JSON, or replace it from a JSON file (same shape as PUT labels/)."""

import json

from django.core.management.base import BaseCommand, CommandError

from apps.annotation.selectors import labels_schema
from apps.annotation.serializers import LabelSchemaInput
from apps.annotation.services import labels_set
from apps.catalog.models import Project
from apps.core.errors import DomainError


class Command(BaseCommand):
    help = "Show a project's label schema, or load one from a JSON file with --load."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("--load", metavar="FILE", help="JSON like the PUT body of /api/v1/projects/{id}/labels/")

    def handle(self, *args, project_id, load=None, **options):
        if not Project.objects.filter(pk=project_id).exists():
            raise CommandError(f"No project with id {project_id}.")
        if load:
            try:
                with open(load, encoding="utf-8") as fh:
                    body = json.load(fh)
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read {load}: {exc}") from exc
            data = LabelSchemaInput(data=body)
            if not data.is_valid():
                raise CommandError(f"{load} is not a label schema: {json.dumps(data.errors)}")
            try:
                labels_set(project_id=project_id, **data.validated_data)
            except DomainError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(labels_schema(project_id), indent=2))
