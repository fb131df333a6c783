"""Review API: the reviewer's queue, decisions on one annotation, and the decision history."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.annotation.selectors import annotation_for_review, annotation_get
from apps.annotation.serializers import AnnotationOutput
from apps.annotation.views import VersionConflictBody
from apps.catalog.serializers import RecordingOutput
from apps.core.permissions import project_role_require
from apps.review import services
from apps.review.models import Review
from apps.review.selectors import transcript_qa_of
from apps.review.serializers import ReviewInput, ReviewNextQuery, ReviewOutput, TranscriptQAOutput


class ProjectReviewNextView(APIView):
    """The reviewer's next item (``?order=transcript_flags``: most transcript-QA flags first), with its QA."""

    @extend_schema(request=None, parameters=[ReviewNextQuery], responses={200: serializers.DictField(), 204: None})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, services.REVIEW_ROLES)
        order = ReviewNextQuery.parse(request.query_params).get("order", "oldest")
        annotation = services.review_next(project_id=project_id, user=request.user, order=order)
        if annotation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        annotation = annotation_for_review(annotation.id)  # the queue asked consent for it in this request
        return Response(
            {
                "annotation": AnnotationOutput(annotation).data,
                "recording": RecordingOutput(annotation.recording).data,
                "annotator_name": annotation.annotator.username if annotation.annotator_id else None,
                "transcript_qa": _transcript_qa(annotation.id),
            }
        )


def _transcript_qa(annotation_id: int) -> dict | None:
    row = transcript_qa_of(annotation_id)
    return TranscriptQAOutput(row).data if row is not None else None


class AnnotationReviewView(VersionConflictBody, APIView):
    @extend_schema(request=ReviewInput, responses=serializers.DictField())
    def post(self, request, annotation_id):
        # Without its content: the decision reads and renders the annotation's content under its row lock.
        annotation = annotation_get(request.user, annotation_id, with_content=False)
        project_role_require(request.user, annotation.project_id, services.REVIEW_ROLES)
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.annotation_review(annotation=annotation, reviewer=request.user, **data.validated_data)
        return Response(AnnotationOutput(result).data)


class AnnotationReviewHistoryView(APIView):
    @extend_schema(responses=ReviewOutput(many=True))
    def get(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id)
        reviews = Review.objects.filter(annotation_id=annotation.id).select_related("reviewer").order_by("id")
        return Response(ReviewOutput(reviews, many=True).data)
