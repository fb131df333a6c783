"""Review services (the QA review issue fills these in)."""


def qa_on_processed(*, recording_id: int) -> None:
    """Called after a recording's processing finished: evaluate its QA metrics and flags."""
    return None
