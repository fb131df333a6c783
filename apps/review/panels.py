"""The QA panel of the catalogue's recording page (recording_panels hook)."""

from apps.review.models import QAResult


def recording_qa_panel(*, actor, recording) -> dict:
    """Automatic QA: flags and the measurements behind them."""
    qa = QAResult.objects.filter(recording=recording).first()
    if qa is None:
        return {"order": 40, "title": "QA flags", "testid": "qa", "empty": "Not checked yet."}
    flags = [f for f in qa.flags.split(",") if f]

    def fmt(value, unit=""):
        return "—" if value is None else f"{value:.2f}{unit}"

    rows = [
        ("Flags", ", ".join(flags) or "none"),
        ("SNR", fmt(qa.snr_db, " dB")),
        ("Loudness", fmt(qa.loudness_lufs, " LUFS")),
        ("Silence", fmt(qa.silence_ratio)),
        ("Clipped", fmt(qa.clipped_ratio)),
    ]
    if qa.accepted_at:
        rows.append(("Accepted by a manager", qa.accepted_at.strftime("%Y-%m-%d")))
    return {"order": 40, "title": "QA flags", "testid": "qa", "rows": rows}
