"""Catalogue API: thin views — authenticate, parse, one call, render."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog import services
from apps.catalog.filters import RecordingFilter
from apps.catalog.models import ImportBatch, ImportSource, Project
from apps.catalog.selectors import import_source_list, project_list, recording_get_visible, recording_list
from apps.catalog.serializers import (
    ImportBatchOutput,
    ImportInput,
    ImportSourceInput,
    ImportSourceOutput,
    ImportSourceProjectOutput,
    ProjectInput,
    ProjectOutput,
    RecordingOutput,
)
from apps.catalog.streaming import CONTENT_TYPES, ranged_response
from apps.core.permissions import ANYONE, MANAGERS, project_create_require, project_role_require

SIDECAR_MAX_BYTES = 50 * 1024**2  # read into memory whole: a metadata table, not audio


class ProjectListView(ListAPIView):
    serializer_class = ProjectOutput

    def get_queryset(self):
        return project_list(self.request.user).prefetch_related("allowed_languages").order_by("-id")

    @extend_schema(request=ProjectInput, responses={201: ProjectOutput})
    def post(self, request):
        project_create_require(request.user)
        data = ProjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(created_by=request.user, **data.validated_data)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectOutput)
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(ProjectOutput(Project.objects.get(id=project_id)).data)


class ProjectRecordingsView(ListAPIView):
    """List the project's recordings (filters: language, speaker, status, duration), or upload files."""

    serializer_class = RecordingOutput
    filterset_class = RecordingFilter
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        project_role_require(self.request.user, self.kwargs["project_id"], ANYONE)
        return recording_list(actor=self.request.user, project_id=self.kwargs["project_id"])

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "sidecar": {"type": "string", "format": "binary"},
                },
            }
        }
    )
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise ValidationError({"files": "send one or more audio files in the 'files' field"})
        sidecar = {}
        if upload := request.FILES.get("sidecar"):
            if getattr(upload, "refused", None) or upload.size > SIDECAR_MAX_BYTES:
                raise ValidationError({"sidecar": f"the sidecar is over the limit of {SIDECAR_MAX_BYTES:,} bytes"})
            sidecar = services.sidecar_parse(upload.read(), upload.name)
        project = Project.objects.get(id=project_id)
        results = services.recordings_ingest_many(
            project=project, files=[(f.name, f) for f in files], created_by=request.user, sidecar=sidecar
        )
        body = {"results": [r.as_dict() for r in results], **services.result_counts(results)}
        if len(results) == 1:
            # One file: the status code tells the whole story.
            only = results[0]
            # quarantined: stored (201) but held; its message says why and for which speaker
            code = {"accepted": 201, "quarantined": 201, "duplicate": 409, "rejected": 400}[only.status]
            return Response({"detail": only.message or "accepted", **body}, status=code)
        code = (
            status.HTTP_201_CREATED
            if body["accepted"] or body["quarantined"]
            else (status.HTTP_200_OK if body["duplicate"] else status.HTTP_400_BAD_REQUEST)
        )
        if code == 400:
            body["detail"] = "none of the files could be imported; see each file's message"
        return Response(body, status=code)


class RecordingDetailView(APIView):
    @extend_schema(responses=RecordingOutput)
    def get(self, request, recording_id):
        recording = recording_get_visible(actor=request.user, recording_id=recording_id)
        return Response(RecordingOutput(recording).data)


class RecordingAudioView(APIView):
    """The original audio, with HTTP range requests (on S3: a presigned redirect)."""

    def get(self, request, recording_id):
        recording = recording_get_visible(actor=request.user, recording_id=recording_id, stream=True)
        # audited (every range, suffix and open ones too) and marked no-store by consent's ServedDataMiddleware
        return ranged_response(
            request, recording.original_key, CONTENT_TYPES.get(recording.container, "application/octet-stream")
        )


class ProjectImportsView(ListAPIView):
    """Imports of a project: upload a zip (answered at once, per file), or queue a folder / S3 prefix."""

    serializer_class = ImportBatchOutput
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        project_role_require(self.request.user, self.kwargs["project_id"], MANAGERS)
        return ImportBatch.objects.filter(project_id=self.kwargs["project_id"])

    @extend_schema(request=ImportInput, responses={201: ImportBatchOutput, 202: ImportBatchOutput})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = Project.objects.get(id=project_id)
        args = data.validated_data
        if args.get("source") == "zip":
            sidecar = (
                services.sidecar_parse(args["sidecar"].read(), args["sidecar"].name) if args.get("sidecar") else {}
            )
            batch = services.import_zip_recorded(
                project=project, fileobj=args["file"], name=args["file"].name, created_by=request.user, sidecar=sidecar
            )
            return Response(ImportBatchOutput(batch).data, status=status.HTTP_201_CREATED)
        with transaction.atomic():
            source = services.import_source_for_project(source_id=args["source_id"], project=project)
            if args.get("source") and args["source"] != source.kind:
                raise ValidationError({"source": f"the source {source.name} is a {source.kind} source"})
            batch = services.import_batch_create(
                project=project, source=source, path=args["path"], created_by=request.user
            )
        return Response(ImportBatchOutput(batch).data, status=status.HTTP_202_ACCEPTED)


class ProjectImportSourcesView(ListAPIView):
    """The registered import sources this project's managers may import from (no credentials)."""

    serializer_class = ImportSourceProjectOutput
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ImportSource.objects.none()
        project_role_require(self.request.user, self.kwargs["project_id"], MANAGERS)
        return import_source_list(project_id=self.kwargs["project_id"])


class ImportSourceListView(ListAPIView):
    """Site administrators (staff) register import sources here, each with its own credentials and projects."""

    serializer_class = ImportSourceOutput
    permission_classes = [IsAdminUser]
    queryset = ImportSource.objects.prefetch_related("projects").order_by("-id")

    @extend_schema(request=ImportSourceInput, responses=ImportSourceOutput)
    def post(self, request):
        data = ImportSourceInput(data=request.data)
        data.is_valid(raise_exception=True)
        source = services.import_source_create(**data.validated_data)
        return Response(ImportSourceOutput(source).data, status=status.HTTP_201_CREATED)


class ImportSourceDetailView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=ImportSourceOutput)
    def get(self, request, source_id):
        return Response(ImportSourceOutput(get_object_or_404(ImportSource, pk=source_id)).data)

    @extend_schema(request=ImportSourceInput, responses=ImportSourceOutput)
    def patch(self, request, source_id):
        source = get_object_or_404(ImportSource, pk=source_id)
        data = ImportSourceInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        source = services.import_source_update(source=source, **data.validated_data)
        return Response(ImportSourceOutput(source).data)

    @extend_schema(responses={204: None})
    def delete(self, request, source_id):
        services.import_source_delete(source=get_object_or_404(ImportSource, pk=source_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportDetailView(APIView):
    @extend_schema(responses=ImportBatchOutput)
    def get(self, request, import_id):
        batch = ImportBatch.objects.filter(id=import_id).first()
        if batch is None:
            from django.http import Http404

            raise Http404("No such import.")
        project_role_require(request.user, batch.project_id, MANAGERS)
        return Response(ImportBatchOutput(batch).data)
