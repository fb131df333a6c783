"""Release services. Views, tasks and commands call these; the cross-app hook keeps its name."""

from apps.datasets.services.build import release_build, release_fail, releases_requeue_stale
from apps.datasets.services.releases import (
    release_create,
    release_download_check,
    release_download_record,
    release_files,
    release_rebuild,
    releases_on_withdrawal,
)

__all__ = [
    "release_build",
    "release_create",
    "release_download_check",
    "release_download_record",
    "release_fail",
    "release_files",
    "release_rebuild",
    "releases_on_withdrawal",
    "releases_requeue_stale",
]
