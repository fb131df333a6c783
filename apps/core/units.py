"""Amounts as people read them. No Django here."""


def duration_human(seconds: float | None) -> str:
    """Seconds in the unit that reads best: '0 s', '42.5 s', '12.3 min', '3.25 h' (never '0.0 hours' for 24 clips)."""
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if 0 < seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    hours = seconds / 3600
    return f"{hours:.2f} h" if hours < 10 else f"{hours:,.1f} h"
