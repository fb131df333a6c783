"""Shapes only: input checks and output rendering for recipes and jobs. Nothing here writes."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.processing.models import ProcessingJob, Recipe
from apps.processing.services import job_progress_aggregate


class RecipeOutput(serializers.ModelSerializer):
    class Meta:
        model = Recipe
        fields = ["id", "project", "name", "spec_hash", "spec", "created_at"]


class RecipeInput(serializers.Serializer):
    spec = serializers.JSONField(help_text="The recipe spec; omitted keys take the defaults.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReprocessInput(serializers.Serializer):
    only_missing = serializers.BooleanField(required=False, default=False)


class JobOutput(serializers.ModelSerializer):
    class Meta:
        model = ProcessingJob
        fields = ["id", "kind", "project", "recording", "recipe", "parent", "only_missing", "status", "stage",
                  "percent", "error", "notes", "attempts", "created_at", "started_at", "finished_at"]


class JobDetailOutput(JobOutput):
    children = serializers.SerializerMethodField()

    class Meta(JobOutput.Meta):
        fields = JobOutput.Meta.fields + ["children"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_children(self, job):
        if job.kind != "project":
            return None
        return job_progress_aggregate(parent=job)
