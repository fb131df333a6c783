"""Release API: thin views — authenticate, parse, one call, render."""

from datetime import UTC

from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.streaming import CONTENT_TYPES, ranged_response
from apps.core.errors import DomainError
from apps.core.pagination import IdCursorPagination
from apps.core.permissions import MANAGERS, project_role_require, release_download_require
from apps.datasets import services
from apps.datasets.models import DatasetRelease, ReleaseItem
from apps.datasets.selectors import (
    release_get,
    release_list,
    release_manifest,
    release_withdrawals,
)
from apps.datasets.serializers import (
    ReleaseCreateInput,
    ReleaseDetailOutput,
    ReleaseItemOutput,
    ReleaseOutput,
    WithdrawalOutput,
)
from apps.datasets.services.diff import release_diff
from apps.datasets.tarstream import tar_stream


class ProjectReleasesView(ListAPIView):
    """List a project's releases (any member), or create one from a spec (managers)."""

    serializer_class = ReleaseOutput
    pagination_class = IdCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return DatasetRelease.objects.none()
        return release_list(actor=self.request.user, project_id=self.kwargs["project_id"])

    @extend_schema(request=ReleaseCreateInput, responses={201: ReleaseOutput})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = ReleaseCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        release = services.release_create(actor=request.user, project_id=project_id, spec=data.validated_data["spec"])
        return Response(ReleaseOutput(release).data, status=status.HTTP_201_CREATED)


class ReleaseDetailView(APIView):
    @extend_schema(responses=ReleaseDetailOutput)
    def get(self, request, release_id):
        return Response(ReleaseDetailOutput(release_get(actor=request.user, release_id=release_id)).data)


class ReleaseRebuildView(APIView):
    @extend_schema(request=None, responses={201: ReleaseOutput})
    def post(self, request, release_id):
        release_get(actor=request.user, release_id=release_id, roles=MANAGERS)
        release = services.release_rebuild(actor=request.user, release_id=release_id)
        return Response(ReleaseOutput(release).data, status=status.HTTP_201_CREATED)


class ReleaseDownloadView(APIView):
    """The whole format as one streamed tar; `?file=PATH` one file (range requests, presigned on S3);
    `?list=1` the file list with sha256s."""

    @extend_schema(
        parameters=[
            OpenApiParameter("file", str, description="One file of the format (relative path from SHA256SUMS)."),
            OpenApiParameter("list", bool, description="Return the file list with sha256s as JSON instead."),
        ],
        responses={(200, "application/x-tar"): OpenApiTypes.BINARY, 302: None, 409: None, 410: None},
    )
    def get(self, request, release_id, fmt):
        release = release_get(actor=request.user, release_id=release_id)
        release_download_require(request.user, release.project)  # the project chooses who downloads
        services.release_download_check(release=release, fmt=fmt)
        files = services.release_files(release=release, fmt=fmt)
        prefix = f"{release.storage_prefix}{fmt}/"
        if request.query_params.get("list"):
            services.release_download_record(actor=request.user, release=release, fmt=fmt, path="(list)")
            return Response(
                {
                    "format": fmt,
                    "checksum": release.files[fmt]["checksum"],
                    "files": [{"path": p, "sha256": s or None} for p, s in files],
                }
            )
        path = request.query_params.get("file")
        if path:
            if path not in {p for p, _ in files}:
                raise DomainError(f"Release v{release.version} has no file {path!r} in {fmt}.", status_code=404)
            services.release_download_record(actor=request.user, release=release, fmt=fmt, path=path)
            ext = path.rsplit(".", 1)[-1]
            return ranged_response(
                request,
                prefix + path,
                CONTENT_TYPES.get(ext, "application/octet-stream"),
                filename=path.rsplit("/", 1)[-1],
            )
        services.release_download_record(actor=request.user, release=release, fmt=fmt)
        name = f"release-{release.project_id}-v{release.version}-{fmt}"
        members = [(f"{name}/{p}", prefix + p) for p, _ in files]
        response = StreamingHttpResponse(tar_stream(default_storage, members), content_type="application/x-tar")
        response["Content-Disposition"] = f'attachment; filename="{name}.tar"'
        return response


class ManifestPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ReleaseManifestView(ListAPIView):
    """The frozen manifest, paged; examples withdrawn since the build are left out."""

    serializer_class = ReleaseItemOutput
    pagination_class = ManifestPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReleaseItem.objects.none()
        release = release_get(actor=self.request.user, release_id=self.kwargs["release_id"])
        release_download_require(self.request.user, release.project)  # the manifest is the release's content
        return release_manifest(release=release)


class ReleaseWithdrawalsView(ListAPIView):
    """Examples withdrawn since the build (`?since=` ISO date or datetime): what to delete from your copies."""

    serializer_class = WithdrawalOutput
    pagination_class = ManifestPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReleaseItem.objects.none()
        release = release_get(actor=self.request.user, release_id=self.kwargs["release_id"])
        raw = self.request.query_params.get("since")
        since = None
        if raw:
            try:
                since = parse_datetime(raw) or (parse_date(raw) and parse_datetime(raw + "T00:00:00"))
            except ValueError:
                since = None
            if not since:
                raise DomainError(f"since must be an ISO date or datetime such as 2026-01-31T12:00:00Z (got {raw!r}).")
            if timezone.is_naive(since):
                since = timezone.make_aware(since, UTC)
        return release_withdrawals(release=release, since=since)


class ReleaseDiffView(APIView):
    """What changed from release ``other_id`` to this one: examples added, removed (and why), relabelled,
    re-transcribed and moved between splits, from the frozen manifests."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, release_id, other_id):
        release = release_get(actor=request.user, release_id=release_id)
        other = release_get(actor=request.user, release_id=other_id)
        return Response(release_diff(release=release, other=other))
