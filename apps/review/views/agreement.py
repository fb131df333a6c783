"""Agreement, gold items and consensus: thin views over apps.review.agreement and the services."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.annotation.selectors import annotation_get
from apps.annotation.views import VersionConflictBody
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.permissions import MANAGERS, project_role_require
from apps.review import agreement, services
from apps.review.models import GoldItem
from apps.review.serializers import ConsensusInput, ConsensusOutput, GoldItemInput, GoldItemOutput


def _iou(request) -> float:
    value = request.query_params.get("iou", "0.5")
    try:
        iou = float(value)
    except ValueError:
        iou = -1.0
    if not 0.0 < iou <= 1.0:
        raise ValidationError({"detail": f"iou must be a number in (0, 1], not {value!r}."})
    return iou


class ProjectAgreementView(APIView):
    """Project-wide agreement; ``?annotator=<id>`` narrows the per-annotator rows to one person."""

    @extend_schema(responses=serializers.DictField())
    def get(self, request, project_id):
        project_role_require(request.user, project_id, agreement.AGREEMENT_ROLES)
        body = agreement.project_agreement_cached(
            actor=request.user, project_id=project_id, iou_threshold=_iou(request)
        )
        if (annotator := request.query_params.get("annotator")) is not None:
            body["annotators"] = [row for row in body["annotators"] if str(row["annotator"]) == annotator]
        return Response(body)


class ProjectAgreementAnnotatorsView(APIView):
    @extend_schema(responses={200: {"type": "array", "items": {"type": "object", "additionalProperties": True}}})
    def get(self, request, project_id):
        project_role_require(request.user, project_id, agreement.AGREEMENT_ROLES)
        body = agreement.project_agreement_cached(
            actor=request.user, project_id=project_id, iou_threshold=_iou(request)
        )
        return Response(body["annotators"])


class ProjectGoldView(APIView):
    @extend_schema(responses=GoldItemOutput(many=True))
    def get(self, request, project_id):
        project_role_require(request.user, project_id, services.REVIEW_ROLES)
        items = GoldItem.objects.filter(project_id=project_id).order_by("id")
        return Response(GoldItemOutput(items, many=True).data)

    @extend_schema(request=GoldItemInput, responses=GoldItemOutput)
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = GoldItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        recording = recording_get_usable(request.user, Purpose.REVIEW, data.validated_data["recording"])
        if recording.project_id != project_id:
            raise Http404("No such recording.")
        annotation = None
        if data.validated_data.get("annotation") is not None:
            annotation = annotation_get(request.user, data.validated_data["annotation"])
        item = services.gold_item_set(
            recording=recording,
            user=request.user,
            annotation=annotation,
            reference=data.validated_data.get("reference"),
        )
        return Response(GoldItemOutput(item).data, status=status.HTTP_201_CREATED)


class RecordingConsensusView(VersionConflictBody, APIView):
    @extend_schema(responses=ConsensusOutput)
    def get(self, request, recording_id):
        return Response(
            ConsensusOutput(
                agreement.recording_consensus(
                    actor=request.user, recording_id=recording_id, iou_threshold=_iou(request)
                )
            ).data
        )

    @extend_schema(request=ConsensusInput, responses=ConsensusOutput)
    def post(self, request, recording_id):
        recording = recording_get_usable(request.user, Purpose.REVIEW, recording_id, roles=services.REVIEW_ROLES)
        project_role_require(request.user, recording.project_id, services.REVIEW_ROLES)
        data = ConsensusInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.consensus_decide(recording=recording, reviewer=request.user, **data.validated_data)
        view = agreement.recording_consensus(actor=request.user, recording_id=recording_id)
        return Response(ConsensusOutput(view).data)
