"""Annotation services (the annotator issue fills these in). Cross-app hooks keep these names."""


def assignments_cancel_for_recordings(*, recording_ids: list[int]) -> int:
    """Cancel open assignments on these recordings (consent withdrawn); returns how many."""
    return 0


def annotations_redact_for_recordings(*, recording_ids: list[int]) -> int:
    """Blank transcripts and free-text attributes in every annotation and version of these recordings."""
    return 0
