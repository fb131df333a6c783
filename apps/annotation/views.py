"""Annotation API (docs/annotator-api.md): thin views — authenticate, parse, one call, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.annotation import services
from apps.annotation.embed import queue_next_body
from apps.annotation.models import AnnotationStatus
from apps.annotation.selectors import (
    ANNOTATE_ROLES,
    annotation_get,
    annotation_get_for_save,
    annotation_list,
    annotation_settings_of,
    annotation_words,
    labels_schema,
)
from apps.annotation.serializers import (
    AnnotationListInput,
    AnnotationOutput,
    AnnotationSaveInput,
    AnnotationSubmitInput,
    LabelCreateInput,
    LabelOutput,
    LabelSchemaInput,
    LabelSchemaOutput,
    QueueNextInput,
    QueueNextOutput,
    SkipOutput,
    VersionOutput,
    WordsOutput,
)
from apps.annotation.services.drafts import annotation_draft_accept, drafts_of
from apps.annotation.services.work import VersionConflict
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.errors import Conflict, DomainError
from apps.core.permissions import ANYONE, MANAGERS, project_role_require


class VersionConflictBody:
    """For views whose service may refuse an outdated version: the 409 body carries the annotation as it is now,
    rendered like every annotation (``{"detail", "current"}``)."""

    def handle_exception(self, exc):
        if isinstance(exc, VersionConflict):
            exc = Conflict(exc.message, extra={"current": AnnotationOutput(exc.current).data})
        return super().handle_exception(exc)  # type: ignore[misc]


class ProjectLabelsView(APIView):
    """The project's label schema: read by members; replaced (PUT) or extended (POST) by managers."""

    @extend_schema(responses=LabelSchemaOutput)
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(labels_schema(project_id))

    @extend_schema(request=LabelSchemaInput, responses=LabelSchemaOutput)
    def put(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = LabelSchemaInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.labels_set(project_id=project_id, **data.validated_data))

    @extend_schema(request=LabelCreateInput, responses={201: LabelOutput})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = LabelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        data.validated_data.pop("id", None)
        label = services.label_create(project_id=project_id, **data.validated_data)
        return Response(
            {"id": label.id, "kind": label.kind, "name": label.name, "color": label.color, "hotkey": label.hotkey},
            status=status.HTTP_201_CREATED,
        )


class QueueNextView(APIView):
    """Hand this annotator their next item (own open or rejected work first); 204 when none is left. The answer
    embeds the recording's peaks at the first zoom level (null before processing is done), so the annotator
    draws the item with this one request and streams its audio with the next. ``?progress=false`` leaves the
    queue counts out (an aggregate over the project's recordings, about a fifth of the request's time): the
    annotator asks ``queue/progress/`` for them once the item is drawn, off the path it waits on."""

    @extend_schema(parameters=[QueueNextInput], request=None, responses={200: QueueNextOutput, 204: None})
    def post(self, request, project_id):
        params = QueueNextInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        body = queue_next_body(user=request.user, project_id=project_id, progress=params.validated_data["progress"])
        if body is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(body)


class QueueProgressView(APIView):
    """How much of the queue is left for this annotator: ``{"left", "total"}`` (reads only, claims nothing)."""

    @extend_schema(responses={200: OpenApiResponse(description="{left, total}")})
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANNOTATE_ROLES)
        return Response(services.queue_progress(project_id=project_id, user=request.user))


class AnnotationListView(GenericAPIView):
    """Annotations the user may read (own; everyone's in projects they manage or review)."""

    serializer_class = AnnotationOutput

    @extend_schema(
        parameters=[AnnotationListInput], operation_id="annotations_list", responses=AnnotationOutput(many=True)
    )
    def get(self, request):
        params = AnnotationListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        statuses = None
        if params.validated_data.get("status"):
            statuses = params.validated_data["status"].split(",")
            bad = [s for s in statuses if s not in AnnotationStatus.values]
            if bad:
                raise DomainError(f"status {bad[0]!r} is not one of {', '.join(AnnotationStatus.values)}.")
        qs = annotation_list(request.user, project_id=params.validated_data.get("project"), statuses=statuses)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(AnnotationOutput(page, many=True).data)


class AnnotationDetailView(VersionConflictBody, APIView):
    """Read an annotation; its annotator saves it (PUT) with the version it was based on."""

    @extend_schema(responses=AnnotationOutput)
    def get(self, request, annotation_id):
        return Response(AnnotationOutput(annotation_get(request.user, annotation_id)).data)

    @extend_schema(request=AnnotationSaveInput, responses=AnnotationOutput)
    def put(self, request, annotation_id):
        annotation = annotation_get_for_save(request.user, annotation_id)
        data = AnnotationSaveInput(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.annotation_save(
            annotation=annotation, user=request.user, settings=annotation_settings_of(annotation), **data.validated_data
        )
        return Response(AnnotationOutput(saved).data)


class AnnotationSubmitView(VersionConflictBody, APIView):
    @extend_schema(request=AnnotationSubmitInput, responses=AnnotationOutput)
    def post(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id, for_edit=True, with_content=False)
        data = AnnotationSubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        saved = services.annotation_submit(annotation=annotation, user=request.user, **data.validated_data)
        return Response(AnnotationOutput(saved).data)


class AnnotationSkipView(APIView):
    @extend_schema(request=None, responses=SkipOutput)
    def post(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id, for_edit=True, with_content=False)
        assignment = services.annotation_skip(annotation=annotation, user=request.user)
        return Response(
            {"annotation": int(annotation_id), "recording": assignment.recording_id, "status": assignment.status}
        )


class AnnotationVersionsView(APIView):
    """Every kept version of an annotation, oldest first."""

    @extend_schema(responses=VersionOutput(many=True))
    def get(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id)
        return Response(VersionOutput(annotation.versions.order_by("version"), many=True).data)


class RecordingDraftsView(APIView):
    """Draft transcripts of a recording (suggestions from a recogniser, with their engine and version)."""

    def get(self, request, recording_id):
        recording = recording_get_usable(request.user, Purpose.ANNOTATE, recording_id)
        return Response({"recording": recording.id, "drafts": drafts_of(recording_id=recording.id)})


class AnnotationDraftAcceptView(APIView):
    """The annotator takes a draft as a region: ``{"version": n, "draft": id}``; the draft's provenance stays."""

    def post(self, request, annotation_id):
        annotation = annotation_get_for_save(request.user, annotation_id)
        version, draft = request.data.get("version"), request.data.get("draft")
        if not isinstance(version, int) or not isinstance(draft, int):
            raise DomainError("Send the annotation's version and the draft's id as numbers.")
        saved = annotation_draft_accept(
            annotation=annotation,
            user=request.user,
            version=version,
            draft_id=draft,
            settings=annotation_settings_of(annotation),
        )
        return Response(AnnotationOutput(saved).data)


class AnnotationWordsView(APIView):
    """Word timings of the annotation's transcribed regions (forced alignment; seconds in the recording)."""

    @extend_schema(responses=WordsOutput)
    def get(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id)
        return Response(WordsOutput({"annotation": annotation.id, "regions": annotation_words(annotation)}).data)
