"""Default storage's S3 side, for callers that must bypass django-storages' file wrapper.

django-storages' ``S3File`` buffers a whole object in memory (or a spooled file) and asks for it with a HEAD
first; streaming a download to disk, reading a byte range or one small object whole need the boto3 object
itself. This is the one place that knows how django-storages names an object in its bucket.
"""

from django.core.files.storage import default_storage


def s3_object(key: str):
    """The boto3 ``Object`` behind ``key`` when default storage is S3, else None (local storage)."""
    if not hasattr(default_storage, "bucket"):
        return None
    return default_storage.bucket.Object(default_storage._normalize_name(key))  # type: ignore[attr-defined]
