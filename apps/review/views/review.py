"""Review API: the reviewer's queue, decisions on one annotation, and the decision history."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.annotation.selectors import annotation_get
from apps.annotation.serializers import AnnotationOutput
from apps.annotation.views import VersionConflictBody
from apps.catalog.serializers import RecordingOutput
from apps.core.permissions import project_role_require
from apps.review import services
from apps.review.models import Review
from apps.review.serializers import ReviewInput, ReviewOutput


class ProjectReviewNextView(APIView):
    @extend_schema(request=None, responses={200: serializers.DictField(), 204: None})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, services.REVIEW_ROLES)
        annotation = services.review_next(project_id=project_id, user=request.user)
        if annotation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        annotation = annotation_get(request.user, annotation.id)
        return Response(
            {
                "annotation": AnnotationOutput(annotation).data,
                "recording": RecordingOutput(annotation.recording).data,
                "annotator_name": annotation.annotator.username if annotation.annotator_id else None,
            }
        )


class AnnotationReviewView(VersionConflictBody, APIView):
    @extend_schema(request=ReviewInput, responses=serializers.DictField())
    def post(self, request, annotation_id):
        annotation = annotation_get(request.user, annotation_id)
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
