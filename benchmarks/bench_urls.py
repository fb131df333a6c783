"""Baselines measured beside Earmark in the same run.

- store-only upload: what many tools do — save each uploaded file as is, no
  probing, no hashing, no duplicate check.
- naive list: a DRF ListAPIView with page-number paging (COUNT + OFFSET) and
  the one obvious `select_related` for the speaker and language it prints (without
  it the page makes ~184 queries, an N+1 no competent baseline would keep).
"""

from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination

from apps.catalog.models import Project, Recording  # benchmark baseline: deliberately bypasses the selector


@csrf_exempt
def store_only_upload(request, project_id):
    Project.objects.get(id=project_id)
    names = [default_storage.save(f"bench-baseline/{f.name}", f) for f in request.FILES.getlist("files")]
    return JsonResponse({"stored": len(names)}, status=201)


class _NaiveRecording(serializers.ModelSerializer):
    speaker = serializers.CharField(source="speaker.code", default=None)
    language = serializers.CharField(source="language.tag", default=None)

    class Meta:
        model = Recording
        fields = [
            "id",
            "project",
            "original_name",
            "speaker",
            "language",
            "sha256",
            "container",
            "codec",
            "sample_rate",
            "channels",
            "frames",
            "duration",
            "bytes",
            "status",
            "metadata",
            "created_at",
        ]


class _Pages(PageNumberPagination):
    page_size = 100


class NaiveList(ListAPIView):
    serializer_class = _NaiveRecording
    pagination_class = _Pages

    def get_queryset(self):
        return (
            Recording.objects.filter(project_id=self.kwargs["project_id"])
            .select_related("speaker", "language")
            .order_by("-id")
        )


urlpatterns = [
    path("bench/store-only/<int:project_id>/", store_only_upload),
    path("bench/naive-list/<int:project_id>/", NaiveList.as_view()),
    path("", include("config.urls")),
]
