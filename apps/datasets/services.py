"""Release services (the releases issue fills these in)."""


def releases_on_withdrawal(*, recording_ids: list[int], reason: str) -> int:
    """Mark releases that contain these recordings as needing a rebuild; returns how many were marked."""
    return 0
