"""Project dashboard: every figure aggregated in the database, a fixed number of queries at any size.

Reads only. Recordings come from the consent selector (purpose store: the dashboard shows what is
held), so a withdrawn speaker's recordings drop out of every figure at once.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from apps.annotation.models import Annotation, AnnotationStatus, Region
from apps.catalog.models import AgeBand, RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.review.models import QA_FLAGS, QAResult

DURATION_BINS = [0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600]


def _bin_label(lo, hi):
    def fmt(s):
        return f"{s // 60}m" if s >= 60 else f"{s}s"

    return f"{fmt(lo)}-{fmt(hi)}" if hi is not None else f">{fmt(lo)}"


def dashboard_data(*, actor, project_id: int) -> dict:
    """The numbers behind the dashboard (one query per figure, none per row)."""
    usable = recordings_usable(actor, Purpose.STORE).filter(project_id=project_id)
    usable_ids = usable.values("id")
    hours = Coalesce(Sum("duration"), 0.0, output_field=FloatField()) / 3600.0

    status_rows = {r["status"]: r for r in usable.order_by().values("status").annotate(n=Count("id"), hours=hours)}
    status = [
        (s.label, status_rows.get(s.value, {}).get("n", 0), status_rows.get(s.value, {}).get("hours", 0.0))
        for s in RecordingStatus
    ]

    edges = DURATION_BINS + [None]
    bins = usable.aggregate(
        **{
            f"b{i}": Count("id", filter=Q(duration__gte=lo) & (Q(duration__lt=hi) if hi is not None else Q()))
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))
        }
    )
    histogram = [(_bin_label(lo, hi), bins[f"b{i}"]) for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]

    def balance(field, empty="not given"):
        """(value, recordings, hours), largest first; no speaker and a blank value are one "not given" bar."""
        rows = usable.order_by().values(field).annotate(n=Count("id"), hours=hours)
        merged: dict[str, list] = {}
        for r in rows:
            acc = merged.setdefault(r[field] or empty, [0, 0.0])
            acc[0] += r["n"]
            acc[1] += r["hours"]
        return sorted(((k, n, h) for k, (n, h) in merged.items()), key=lambda row: (-row[2], row[0]))

    age_names = dict(AgeBand.choices)
    ages = [(age_names.get(k, k) if k != "not given" else k, n, h) for k, n, h in balance("speaker__age_band")]

    annotations = Annotation.objects.filter(project_id=project_id, recording_id__in=usable_ids)
    region_labels = (
        Region.objects.filter(annotation__in=annotations.values("id"))
        .order_by()
        .values("label__name")
        .annotate(n=Count("id"), seconds=Sum(F("end") - F("start")))
        .order_by("-n")
    )
    labels = [(r["label__name"] or "(no label)", r["n"], r["seconds"] or 0.0) for r in region_labels]

    flag_rows = (
        QAResult.objects.filter(recording_id__in=usable_ids)
        .annotate(day=TruncDate("computed_at"))
        .order_by()
        .values("day")
        .annotate(
            flagged_total=Count("id", filter=Q(flagged=True)),
            **{f: Count("id", filter=Q(flags__contains=f",{f},")) for f in QA_FLAGS},
        )
        .order_by("day")
    )
    flag_rows = list(flag_rows)
    qa_days = [r["day"] for r in flag_rows]
    qa_series = {f: [r[f] for r in flag_rows] for f in QA_FLAGS}

    submitted = Q(status__in=[AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED, AnnotationStatus.REJECTED])
    per_annotator = list(
        annotations.order_by()
        .values("annotator_id", "annotator__username")
        .annotate(
            submitted=Count("id", filter=submitted),
            accepted=Count("id", filter=Q(status=AnnotationStatus.ACCEPTED)),
            rejected=Count("id", filter=Q(status=AnnotationStatus.REJECTED)),
            in_progress=Count("id", filter=Q(status=AnnotationStatus.IN_PROGRESS)),
            hours=Coalesce(Sum("recording__duration", filter=submitted), 0.0, output_field=FloatField()) / 3600.0,
        )
        .order_by("annotator__username")
    )
    backlog = dict(annotations.order_by().values_list("status").annotate(n=Count("id")))
    return {
        "status": status,
        "histogram": histogram,
        "languages": balance("language__tag"),
        "genders": balance("speaker__gender"),
        "ages": ages,
        "speakers": usable.exclude(speaker=None).aggregate(n=Count("speaker", distinct=True))["n"],
        "labels": labels,
        "qa_days": qa_days,
        "qa_series": qa_series,
        "qa_flagged": sum(r["flagged_total"] for r in flag_rows),
        "annotators": per_annotator,
        "backlog": [(s.label, backlog.get(s.value, 0)) for s in AnnotationStatus],
    }


CHART_CACHE_SECONDS = 3600


def _chart(fn, *args, **kwargs) -> str:
    """``fn(*args, **kwargs)`` from the cache when the same chart of the same numbers was drawn before.

    Charts are pure functions of their inputs, so the key is a digest of the inputs: a changed number
    draws a new chart, an unchanged one costs nothing (matplotlib takes ~0.3 s per chart here).
    """
    digest = hashlib.sha1(repr((fn.__name__, args, sorted(kwargs.items()))).encode()).hexdigest()
    return cache.get_or_set(f"review:chart:{digest}", lambda: fn(*args, **kwargs), CHART_CACHE_SECONDS)


def _time_unit(total_hours: float) -> tuple[str, float]:
    """The unit the charts use for amounts of audio, and how many of it make an hour."""
    if total_hours >= 1:
        return "hours", 1.0
    if total_hours * 60 >= 1:
        return "minutes", 60.0
    return "seconds", 3600.0


def dashboard_render(*, actor, project_id: int, agreement_rows: list[dict] | None = None) -> dict:
    """The dashboard's charts as inline SVG, plus the headline numbers."""
    from apps.review import charts  # matplotlib (~40 MB a process) loads with the first dashboard, not at start

    d = dashboard_data(actor=actor, project_id=project_id)
    unit, per_hour = _time_unit(sum(h for _, _, h in d["status"]))

    def amounts(rows):  # hours → the unit the totals read best in
        return [h * per_hour for _, _, h in rows]

    f1 = {row["annotator"]: row["region_f1_vs_peers"] for row in agreement_rows or []}
    names = [r["annotator__username"] for r in d["annotators"]]
    charts_svg = {
        "status": _chart(
            charts.bar_chart, "Audio by status", [s for s, _, _ in d["status"]], amounts(d["status"]), ylabel=unit
        ),
        "status_counts": _chart(
            charts.bar_chart,
            "Recording counts by status",
            [s for s, _, _ in d["status"]],
            [n for _, n, _ in d["status"]],
            ylabel="recordings",
        ),
        "durations": _chart(
            charts.bar_chart,
            "Duration histogram",
            [b for b, _ in d["histogram"]],
            [n for _, n in d["histogram"]],
            ylabel="recordings",
            color=charts.PALETTE[5],
        ),
        "labels": _chart(
            charts.bar_chart,
            "Region labels",
            [lb for lb, _, _ in d["labels"][:20]],
            [n for _, n, _ in d["labels"][:20]],
            ylabel="regions",
            horizontal=True,
            color=charts.PALETTE[4],
        ),
        "languages": _chart(
            charts.bar_chart,
            "Audio by language",
            [k for k, _, _ in d["languages"][:15]],
            amounts(d["languages"][:15]),
            ylabel=unit,
            horizontal=True,
        ),
        "genders": _chart(
            charts.bar_chart,
            "Audio by gender (as described)",
            [k for k, _, _ in d["genders"][:15]],
            amounts(d["genders"][:15]),
            ylabel=unit,
            horizontal=True,
            color=charts.PALETTE[1],
        ),
        "ages": _chart(
            charts.bar_chart,
            "Audio by age band",
            [k for k, _, _ in d["ages"]],
            amounts(d["ages"]),
            ylabel=unit,
            color=charts.PALETTE[2],
        ),
        "qa": _chart(
            charts.lines_over_time, "QA flags per day", d["qa_days"], d["qa_series"], ylabel="recordings flagged"
        ),
        "throughput": _chart(
            charts.grouped_bars,
            "Annotator throughput",
            names,
            {
                "accepted": [r["accepted"] for r in d["annotators"]],
                "awaiting review": [r["submitted"] - r["accepted"] - r["rejected"] for r in d["annotators"]],
                "rejected": [r["rejected"] for r in d["annotators"]],
            },
            ylabel="annotations",
        ),
        "agreement": _chart(
            charts.scatter_annotators,
            "Throughput and agreement",
            names,
            [r["hours"] for r in d["annotators"]],
            [f1.get(r["annotator_id"]) for r in d["annotators"]],
        ),
        "backlog": _chart(
            charts.bar_chart,
            "Review backlog (annotations by status)",
            [s for s, _ in d["backlog"]],
            [n for _, n in d["backlog"]],
            ylabel="annotations",
            color=charts.PALETTE[3],
        ),
    }
    totals = {
        "recordings": sum(n for _, n, _ in d["status"]),
        "hours": sum(h for _, _, h in d["status"]),
        "seconds": sum(h for _, _, h in d["status"]) * 3600.0,
        "speakers": d["speakers"],
        "awaiting_review": dict(d["backlog"]).get(AnnotationStatus.SUBMITTED.label, 0),
        "flagged": d["qa_flagged"],
    }
    return {"charts": charts_svg, "totals": totals, "data": d}
