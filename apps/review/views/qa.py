"""QA API: list results with filters, accept a flagged recording, read/update the project's QA settings."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.models import Project
from apps.core.pagination import IdCursorPagination
from apps.core.permissions import ANYONE, MANAGERS, project_role_require
from apps.review import selectors, services
from apps.review.serializers import (
    QAAcceptInput,
    QAListQuery,
    QAResultOutput,
    QASettingsIO,
    TranscriptQAListQuery,
    TranscriptQAOutput,
)
from apps.review.services import REVIEW_ROLES


class ProjectQAListView(ListAPIView):
    """QA results. Filters: flag (repeatable), flagged, accepted, min_<metric> / max_<metric>."""

    serializer_class = QAResultOutput

    @extend_schema(parameters=[QAListQuery])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project_role_require(self.request.user, self.kwargs["project_id"], ANYONE)
        query = QAListQuery.parse(self.request.query_params)
        ranges = {f: (query.get(f"min_{f}"), query.get(f"max_{f}")) for f in selectors.QA_RANGE_FIELDS}
        return selectors.qa_result_list(
            actor=self.request.user,
            project_id=self.kwargs["project_id"],
            flags=query.get("flag", []),
            flagged=query.get("flagged"),
            accepted=query.get("accepted"),
            ranges=ranges,
        ).order_by("-id")


class RecordingQAView(APIView):
    @extend_schema(responses=QAResultOutput)
    def get(self, request, recording_id):
        result = selectors.qa_result_get(actor=request.user, recording_id=recording_id)
        if result is None:
            raise Http404("No QA result for this recording.")
        return Response(QAResultOutput(result).data)


class RecordingQAAcceptView(APIView):
    @extend_schema(request=QAAcceptInput, responses=QAResultOutput)
    def post(self, request, recording_id):
        result = selectors.qa_result_get(actor=request.user, recording_id=recording_id)
        if result is None:
            raise Http404("No QA result for this recording.")
        project_role_require(request.user, result.project_id, MANAGERS)
        data = QAAcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.qa_result_accept(result=result, user=request.user, note=data.validated_data["note"])
        return Response(QAResultOutput(result).data)


class ProjectQASettingsView(APIView):
    @extend_schema(responses=QASettingsIO)
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(QASettingsIO(services.qa_settings_get(project_id=project_id)).data)

    @extend_schema(request=QASettingsIO, responses=QASettingsIO)
    def put(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = QASettingsIO(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        qa = services.qa_settings_update(project=Project.objects.get(id=project_id), **data.validated_data)
        return Response(QASettingsIO(qa).data)


class MostFlagsFirst(IdCursorPagination):
    ordering = ("-flag_count", "-id")


class ProjectTranscriptQAListView(ListAPIView):
    """Transcript QA of the project's annotations, most flags first. Filter: ``flag`` (repeatable)."""

    serializer_class = TranscriptQAOutput
    pagination_class = MostFlagsFirst

    @extend_schema(parameters=[TranscriptQAListQuery])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project_role_require(self.request.user, self.kwargs["project_id"], REVIEW_ROLES)
        query = TranscriptQAListQuery.parse(self.request.query_params)
        return selectors.transcript_qa_list(
            actor=self.request.user, project_id=self.kwargs["project_id"], flags=query.get("flag", [])
        )
