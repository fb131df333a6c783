"""Processing services (filled in by the processing issue)."""


def recording_queue_processing(*, recording) -> None:
    """Queue the processing job for a new recording after commit."""
    return None
