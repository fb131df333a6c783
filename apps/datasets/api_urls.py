from django.urls import path

from apps.datasets import views

urlpatterns = [
    path("projects/<int:project_id>/releases/", views.ProjectReleasesView.as_view(), name="project-releases"),
    path("releases/<int:release_id>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("releases/<int:release_id>/rebuild/", views.ReleaseRebuildView.as_view(), name="release-rebuild"),
    path("releases/<int:release_id>/download/<str:fmt>", views.ReleaseDownloadView.as_view(), name="release-download"),
    path("releases/<int:release_id>/manifest", views.ReleaseManifestView.as_view(), name="release-manifest"),
    path("releases/<int:release_id>/withdrawals", views.ReleaseWithdrawalsView.as_view(), name="release-withdrawals"),
    path("releases/<int:release_id>/diff/<int:other_id>", views.ReleaseDiffView.as_view(), name="release-diff"),
]
