"""Processing services (the processing issue fills these in). Cross-app hooks keep these names."""


def recording_queue_processing(*, recording) -> None:
    """Queue the processing job for a new recording after commit."""
    return None


def artifacts_purge_for_recording(*, recording) -> list[str]:
    """Delete the recording's artifacts (objects, verified gone, then rows); returns the deleted keys."""
    return []
