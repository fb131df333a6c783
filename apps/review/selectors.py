"""Review and QA reads that carry rules. Recordings always come from apps.consent.selectors."""

from django.db.models import Q, QuerySet

from apps.annotation.models import Annotation, AnnotationStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.processing.dsp.transcript_qa import DEFAULT_TRANSFORMS
from apps.review.models import GoldItem, QAResult, QASettings, TranscriptQA


def qa_excluded_recording_ids(*, project_id: int | None = None) -> QuerySet:
    """Ids of recordings QA keeps out of annotation queues and releases (a ``values_list`` subquery).

    Excluded: flagged, not accepted by a manager, in a project whose QA settings say ``exclude_flagged``
    (the default when a project stored no settings). Use as ``qs.exclude(id__in=qa_excluded_recording_ids())``.
    """
    qs = QAResult.objects.filter(flagged=True, accepted_at__isnull=True).exclude(
        project__qa_settings__exclude_flagged=False
    )
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs.values_list("recording_id", flat=True)


def recordings_exclude_qa_flagged(qs: QuerySet) -> QuerySet:
    """``qs`` (recordings) without the QA-excluded ones; see ``qa_excluded_recording_ids``."""
    return qs.exclude(id__in=qa_excluded_recording_ids())


def gold_recording_ids(*, project_id: int) -> QuerySet:
    """Ids of the project's gold recordings (a ``values_list`` subquery).

    For the annotation queue: gold items should reach every annotator (overlap does not apply to
    them) so each annotator gets a gold score; they look like any other item to the annotator.
    """
    return GoldItem.objects.filter(project_id=project_id).values_list("recording_id", flat=True)


# Numeric QA fields the list can filter by range (?min_snr_db=10&max_silence_ratio=0.5).
QA_RANGE_FIELDS = (
    "duration_s",
    "clipped_ratio",
    "silence_ratio",
    "snr_db",
    "dc_offset",
    "loudness_lufs",
    "peak_dbfs",
    "rms_dbfs",
    "near_duplicate_similarity",
)


def qa_result_list(*, actor, project_id: int, flags=(), flagged=None, accepted=None, ranges=None) -> QuerySet:
    """QA results of the project's recordings ``actor`` may see, filtered.

    ``flags``: results carrying every named flag; ``flagged`` / ``accepted``: booleans or None;
    ``ranges``: ``{field: (low, high)}`` with either end None, fields from ``QA_RANGE_FIELDS``.
    """
    usable = recordings_usable(actor, Purpose.STORE).filter(project_id=project_id)
    qs = QAResult.objects.filter(recording__in=usable).select_related("recording")
    for flag in flags:
        qs = qs.filter(flags__contains=f",{flag},")
    if flagged is not None:
        qs = qs.filter(flagged=flagged)
    if accepted is not None:
        qs = qs.filter(accepted_at__isnull=not accepted)
    for field, (low, high) in (ranges or {}).items():
        if low is not None:
            qs = qs.filter(Q(**{f"{field}__gte": low}))
        if high is not None:
            qs = qs.filter(Q(**{f"{field}__lte": high}))
    return qs


def qa_result_get(*, actor, recording_id: int) -> QAResult | None:
    """The QA result of one recording ``actor`` may see, or None (not computed, or not visible)."""
    usable = recordings_usable(actor, Purpose.STORE)
    return QAResult.objects.filter(recording__in=usable, recording_id=recording_id).select_related("recording").first()


def own_submissions_waiting(*, project_id: int, user) -> int:
    """How many of ``user``'s own submissions in the project wait for review (nobody reviews their own work)."""
    usable = recordings_usable(user, Purpose.REVIEW).filter(project_id=project_id).values("id")
    return Annotation.objects.filter(
        project_id=project_id, annotator_id=user.id, status=AnnotationStatus.SUBMITTED, recording__in=usable
    ).count()


def recording_in_reviewer_work(*, actor, role: str, recording_id: int) -> bool:
    """RECORDING_IN_WORK for reviewers: the recording has annotations handed in for review (or reviewed)."""
    if role != "reviewer":
        return False
    handed_in = (AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED, AnnotationStatus.REJECTED)
    return Annotation.objects.filter(recording_id=recording_id, status__in=handed_in).exists()


def transcript_qa_list(*, actor, project_id: int, flags=()) -> QuerySet:
    """Transcript QA rows of the project's annotations on recordings ``actor`` may review, carrying every flag
    in ``flags``; most flags first."""
    usable = recordings_usable(actor, Purpose.REVIEW).filter(project_id=project_id)
    qs = TranscriptQA.objects.filter(project_id=project_id, recording__in=usable).select_related("annotation")
    for flag in flags:
        qs = qs.filter(flags__contains=f",{flag},")
    return qs.order_by("-flag_count", "-id")


def transcript_qa_of(annotation_id: int) -> TranscriptQA | None:
    """The transcript QA of one annotation (the caller has checked the annotation is visible), or None."""
    return TranscriptQA.objects.filter(annotation_id=annotation_id).first()


def text_transforms_of(*, project_id: int) -> tuple[str, ...]:
    """The jiwer transforms (names) the project normalises text with before WER/CER; the defaults if none stored."""
    found = QASettings.objects.filter(project_id=project_id).values_list("text_transforms", flat=True).first()
    return tuple(found) if found else DEFAULT_TRANSFORMS
