"""Processing API: recipes, reprocess, jobs. Thin views: authenticate, parse, one call, render."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.models import Project
from apps.core.permissions import ANYONE, MANAGERS, project_role_require
from apps.processing import selectors, services
from apps.processing.serializers import (
    JobDetailOutput,
    JobListQuery,
    JobOutput,
    RecipeInput,
    RecipeOutput,
    ReprocessInput,
)


class ProjectRecipeView(APIView):
    """The project's active processing recipe (the default until a manager sets one)."""

    @extend_schema(responses=RecipeOutput)
    def get(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        recipe = services.project_recipe_get(project=Project.objects.get(id=project_id))
        return Response(RecipeOutput(recipe).data)

    @extend_schema(request=RecipeInput, responses=RecipeOutput)
    def put(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = RecipeInput(data=request.data)
        data.is_valid(raise_exception=True)
        recipe = services.project_recipe_set(
            project=Project.objects.get(id=project_id), created_by=request.user, **data.validated_data
        )
        return Response(RecipeOutput(recipe).data)


class ProjectReprocessView(APIView):
    """Fan the project's recordings out into jobs under one parent job with aggregate progress."""

    @extend_schema(request=ReprocessInput, responses={202: JobDetailOutput})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = ReprocessInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            parent = services.project_reprocess(
                project=Project.objects.get(id=project_id), created_by=request.user, **data.validated_data
            )
        return Response(JobDetailOutput(parent).data, status=status.HTTP_202_ACCEPTED)


class JobListView(ListAPIView):
    """Jobs in your projects, newest first; filters: project, recording, status, kind."""

    serializer_class = JobOutput

    @extend_schema(parameters=[JobListQuery])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = JobListQuery.parse(self.request.query_params)
        if "project" in query:
            project_role_require(self.request.user, query["project"], ANYONE)
        return selectors.job_list(
            actor=self.request.user,
            project_id=query.get("project"),
            recording_id=query.get("recording"),
            status=query.get("status"),
            kind=query.get("kind"),
        )


class JobDetailView(APIView):
    @extend_schema(responses=JobDetailOutput)
    def get(self, request, job_id):
        return Response(JobDetailOutput(selectors.job_get(actor=request.user, job_id=job_id)).data)
