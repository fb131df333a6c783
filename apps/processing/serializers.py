"""Shapes only: input checks and output rendering for recipes and jobs. Nothing here writes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import QueryChoice, QueryInput, QueryInt
from apps.processing.models import JobKind, JobStatus, ProcessingJob, Recipe
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
        fields = [
            "id",
            "kind",
            "project",
            "recording",
            "recipe",
            "parent",
            "only_missing",
            "status",
            "stage",
            "percent",
            "error",
            "notes",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]


class JobDetailOutput(JobOutput):
    children = serializers.SerializerMethodField()

    class Meta(JobOutput.Meta):
        fields = JobOutput.Meta.fields + ["children"]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "Counts per status of a project job's children; null for one recording.",
        }
    )
    def get_children(self, job):
        if job.kind != "project":
            return None
        return job_progress_aggregate(parent=job)


class JobListQuery(QueryInput):
    project = QueryInt(help_text="Only this project's jobs.")
    recording = QueryInt(help_text="Only this recording's jobs.")
    status = QueryChoice(choices=JobStatus.values)
    kind = QueryChoice(choices=JobKind.values)


class PeaksQuery(QueryInput):
    max_length = QueryInt(low=1, high=10**8, help_text="Most points wanted (default 20000).")
    samples_per_pixel = QueryInt(low=1, high=10**8, help_text="One of the stored resolutions.")
