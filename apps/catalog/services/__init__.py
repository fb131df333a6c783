"""Writes of the catalogue: projects, speakers, recordings and their ingest."""

from .import_sources import (  # noqa: F401
    import_source_create,
    import_source_delete,
    import_source_for_project,
    import_source_update,
    import_source_validate,
)
from .imports import (  # noqa: F401
    import_batch_create,
    import_batch_fail,
    import_batch_run,
    import_folder,
    import_s3_prefix,
    import_zip,
    import_zip_recorded,
    imports_requeue_stale,
    result_counts,
    sidecar_parse,
)
from .ingest import (  # noqa: F401
    IngestResult,
    recording_ingest,
    sanitize_name,
)
from .ingest_batch import recordings_ingest_many  # noqa: F401
from .projects import (  # noqa: F401
    language_get_or_create,
    project_create,
    project_update,
    recording_speaker_set,
    speaker_create,
    speaker_get_or_create,
)
from .status import recording_status_set  # noqa: F401
