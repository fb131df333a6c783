"""The one answer to "may this recording be used for purpose P now?".

Every read of recordings and their derived data starts here: lists, details,
audio and artifact streaming, queues, dashboards, releases, processing tasks.
"""

from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Membership
from apps.accounts.selectors import READ_ROLES, project_ids_for, role_in
from apps.catalog.models import Project, Recording, RecordingStatus, Speaker
from apps.consent.models import (
    AuditEvent,
    ConsentRecord,
    ConsentStatus,
    ProjectConsentPolicy,
    PurgeState,
    RecordingPurge,
    RecordingWithdrawal,
    SpeechCheck,
    SpeechCheckState,
)
from apps.consent.purposes import PURPOSE_BITS, Purpose
from apps.core.hooks import RECORDING_IN_WORK, hook_call
from apps.core.permissions import WORK_SCOPED_ROLES, Role


def _required_mask(purpose: str):
    """The purposes the recording's project needs for ``purpose`` (its policy, else store + purpose)."""
    bit = PURPOSE_BITS[purpose]
    default = PURPOSE_BITS[Purpose.STORE] | bit
    policy = Coalesce(OuterRef(f"project__consent_policy__{purpose}_mask"), Value(default), output_field=IntegerField())
    return ExpressionWrapper(policy.bitor(Value(bit)), output_field=IntegerField())  # type: ignore[arg-type]


def live_grants(purpose: str, *, speaker_ref="speaker_id") -> QuerySet:
    """Consent records (correlated to the outer speaker) that cover everything ``purpose`` needs, now."""
    need = _required_mask(purpose)
    return (
        ConsentRecord.objects.filter(speaker_id=OuterRef(speaker_ref), status=ConsentStatus.GRANTED)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .annotate(_covered=ExpressionWrapper(F("purpose_mask").bitand(need), output_field=IntegerField()))
        .filter(_covered=need)
    )


def _consent_filter(qs: QuerySet, purpose: str) -> QuerySet:
    """Recordings whose speaker holds a live grant for ``purpose`` (none needed without a speaker).

    One filter: (no speaker, the project does not require one and the speech detector did not hold it,
    OR a live, unexpired consent record covers the project's purposes for ``purpose``)
    AND the recording was not withdrawn on its own.
    """
    held = SpeechCheck.objects.filter(recording_id=OuterRef("pk"), state=SpeechCheckState.HELD)
    return qs.filter(
        (Q(speaker_id__isnull=True, project__require_speaker=False) & ~Q(Exists(held)))
        | Q(Exists(live_grants(purpose))),
        ~Exists(RecordingWithdrawal.objects.filter(recording_id=OuterRef("pk"))),
    )


def recordings_usable(actor, purpose: str, *, roles=READ_ROLES) -> QuerySet:
    """Recordings ``actor`` may use for ``purpose`` now; ``actor=None`` means the system itself."""
    Purpose(purpose)  # unknown purposes are a programming error
    qs = Recording.objects.exclude(status=RecordingStatus.PURGED)
    if actor is not None:
        ids = project_ids_for(actor, roles)
        if ids is not None:
            qs = qs.filter(project_id__in=ids)
    return _consent_filter(qs, purpose)


def _one(actor, recording_id, roles) -> QuerySet:
    """The recording, if not purged and (for a user) in one of their projects under ``roles``."""
    qs = Recording.objects.filter(pk=recording_id).exclude(status=RecordingStatus.PURGED)
    if actor is not None:
        ids = project_ids_for(actor, roles)
        if ids is not None:
            qs = qs.filter(project_id__in=ids)
    return qs


# --- One recording, asked in plain SQL ------------------------------------------------------------------------
# The autosave, every audio range, peaks and every queue claim ask about one recording. Built by the ORM, the
# three lookups cost ~2.4 ms of CPU per request (1.3 ms of it compiling the recording's row query, with its
# membership subquery and two joins), executed ~0.07 ms each: so they are written once here, from the models'
# own table and column names, and run through the cursor (PostgreSQL and SQLite alike). Same rule as
# ``_consent_filter``; tests/consent/test_selector.py holds the forms equal over random consent states.


def _names(model, *fields: str) -> tuple[str, ...]:
    quote = connection.ops.quote_name
    return (quote(model._meta.db_table), *(quote(model._meta.get_field(f).column) for f in fields))


@lru_cache(maxsize=64)
def _row_sql(purpose: str, n_roles: int | None) -> str:
    """The recording's speaker, its project's rule and policy mask for ``purpose``, and whether it was withdrawn or
    its speech held; only while not purged and (``n_roles``) in a project where the user holds one of the roles."""
    rec, r_id, r_project, r_speaker, r_status = _names(Recording, "id", "project", "speaker", "status")
    proj, p_id, p_require = _names(Project, "id", "require_speaker")
    pol, pol_project, pol_mask = _names(ProjectConsentPolicy, "project", f"{purpose}_mask")
    wd, wd_recording = _names(RecordingWithdrawal, "recording")
    sc, sc_recording, sc_state = _names(SpeechCheck, "recording", "state")
    sql = (
        f"SELECT r.{r_speaker}, p.{p_require}, pol.{pol_mask}, "
        f"EXISTS (SELECT 1 FROM {wd} w WHERE w.{wd_recording} = r.{r_id}), "
        f"EXISTS (SELECT 1 FROM {sc} s WHERE s.{sc_recording} = r.{r_id} AND s.{sc_state} = %s) "
        f"FROM {rec} r INNER JOIN {proj} p ON p.{p_id} = r.{r_project} "
        f"LEFT OUTER JOIN {pol} pol ON pol.{pol_project} = p.{p_id} "
        f"WHERE r.{r_id} = %s AND NOT (r.{r_status} = %s)"
    )
    if n_roles is not None:
        mem, m_project, m_user, m_role = _names(Membership, "project", "user", "role")
        roles = ", ".join(["%s"] * n_roles)
        member = f"SELECT m.{m_project} FROM {mem} m WHERE m.{m_user} = %s AND m.{m_role} IN ({roles})"
        sql += f" AND r.{r_project} IN ({member})"
    return sql


@lru_cache(maxsize=4)
def _flags_sql() -> str:
    wd, wd_recording = _names(RecordingWithdrawal, "recording")
    sc, sc_recording, sc_state = _names(SpeechCheck, "recording", "state")
    return (
        f"SELECT EXISTS (SELECT 1 FROM {wd} w WHERE w.{wd_recording} = %s), "
        f"EXISTS (SELECT 1 FROM {sc} s WHERE s.{sc_recording} = %s AND s.{sc_state} = %s)"
    )


@lru_cache(maxsize=4)
def _grants_sql() -> str:
    cr, cr_mask, cr_speaker, cr_status, cr_expires = _names(
        ConsentRecord, "purpose_mask", "speaker", "status", "expires_at"
    )
    return (
        f"SELECT {cr_mask} FROM {cr} WHERE {cr_speaker} = %s AND {cr_status} = %s "
        f"AND ({cr_expires} IS NULL OR {cr_expires} > %s)"
    )


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _db_id(value) -> int | None:
    """``value`` as a row id the database can hold (the ORM's lookup answers no row for the rest), else None."""
    number = int(value)  # ValueError / TypeError for what is no number, as the ORM's lookup raises
    return number if -(2**63) <= number < 2**63 else None


def _allowed(purpose: str, speaker_id, require_speaker, policy_mask, withdrawn, held) -> bool:
    """``_consent_filter``'s rule for one recording whose row and flags are in hand (reads the speaker's grants)."""
    if withdrawn:
        return False
    if speaker_id is None:  # no consent needed, unless required, or speech was found and nobody decided yet
        return not require_speaker and not held
    need = (PURPOSE_BITS[Purpose.STORE] if policy_mask is None else policy_mask) | PURPOSE_BITS[purpose]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    masks = _fetch(_grants_sql(), [speaker_id, str(ConsentStatus.GRANTED), now])
    return any(mask & need == need for (mask,) in masks)


def _grants_allow(purpose: str, recording_id, speaker_id, require_speaker: bool, policy_mask: int | None) -> bool:
    """``_consent_filter``'s rule for one recording whose row (speaker, project's rule and policy) is in hand:
    not withdrawn on its own, and no speaker (unless required, or speech was found and nobody decided yet) or a
    live, unexpired grant covering what the project needs for ``purpose``. Two statements (flags, grants)."""
    ((withdrawn, held),) = _fetch(_flags_sql(), [recording_id, recording_id, str(SpeechCheckState.HELD)])
    return _allowed(purpose, speaker_id, require_speaker, policy_mask, bool(withdrawn), bool(held))


def recording_is_usable(actor, purpose: str, recording_id, *, roles=READ_ROLES) -> bool:
    """Whether ``recordings_usable(actor, purpose, roles=roles)`` holds this one recording, read fresh now.

    The same rule as ``_consent_filter``, asked of one recording in at most two statements (the recording with
    its project, policy, withdrawal and held speech; its speaker's live grants) instead of the set-wise query,
    which Django takes ~3 ms to build: this runs on every autosave and every queue claim.
    tests/consent/test_selector.py holds the two forms equal over random consent states.
    """
    Purpose(purpose)
    number = _db_id(recording_id)
    if number is None or (actor is not None and not actor.is_authenticated):
        return False
    params: list = [str(SpeechCheckState.HELD), number, str(RecordingStatus.PURGED)]
    n_roles = None
    if actor is not None and not actor.is_staff:
        roles = [str(role) for role in roles]
        params += [actor.pk, *roles]
        n_roles = len(roles)
    rows = _fetch(_row_sql(purpose, n_roles), params)
    if not rows:
        return False
    speaker_id, require_speaker, policy_mask, withdrawn, held = rows[0]
    return _allowed(purpose, speaker_id, bool(require_speaker), policy_mask, bool(withdrawn), bool(held))


def recordings_usable_among(
    actor, purpose: str, recording_ids, *, roles=READ_ROLES, related: tuple[str, ...] = ()
) -> dict[int, Recording]:
    """Those of a few recordings that ``recordings_usable(actor, purpose, roles=roles)`` holds, read whole (with
    ``related`` joined): {id: recording}.

    For a handful of ids read from the caller's own rows (an annotator's own work, on every queue request): the
    rows in one plain read, then ``recording_is_usable``'s lookups of each, asked after the read. The set-wise
    query filtered by the ids would answer in one statement, but Django takes ~6 ms to build and compile it.
    tests/consent/test_selector.py holds the two forms equal over random consent states.
    """
    Purpose(purpose)
    found = Recording.objects.select_related(*related).filter(pk__in=list(recording_ids))
    return {r.pk: r for r in found if recording_is_usable(actor, purpose, r.pk, roles=roles)}


def recording_lock_if_usable(
    purpose: str, recording_id, *, related: tuple[str, ...] = (), skip_locked: bool = False
) -> Recording | None:
    """Lock one recording's row for the caller's transaction (SELECT … FOR UPDATE, so concurrent claims on it
    run one after another; SQLite serialises writers on its own) and return it (with ``related`` joined, their
    rows not locked) if the system may use it for ``purpose``, read under the lock: ``recording_is_usable``'s
    three indexed lookups, not the set-wise query. None when it is missing or not usable, or, with
    ``skip_locked``, when another transaction holds its lock (no waiting)."""
    locked = (
        Recording.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related(*related)
        .filter(pk=recording_id)
        .first()
    )
    if locked is None or not recording_is_usable(None, purpose, recording_id):
        return None
    return locked


def recording_get_usable(
    actor, purpose: str, recording_id, *, roles=READ_ROLES, stream: bool = False, role: str | None = None
) -> Recording:
    """One usable recording (its project joined), or Http404 — the same answer for missing and forbidden.

    ``recording_is_usable``'s rule, with the recording read whole (project and policy joined) in its first
    lookup rather than read again after the check. ``stream=True`` (audio, peaks, features, images) adds the
    role rule: an annotator or reviewer streams only recordings in their own queue, assignments or reviews
    (``recording_in_work``), ``role`` being the actor's role in the recording's project when the caller has
    just read it (the annotator page), else read here.
    """
    try:
        Purpose(purpose)
        recording = _one(actor, recording_id, roles).select_related("project__consent_policy").first()
        if recording is not None:
            try:
                policy_mask = getattr(recording.project.consent_policy, f"{purpose}_mask")
            except ObjectDoesNotExist:  # no policy stored: the default (store + purpose)
                policy_mask = None
            usable = _grants_allow(
                purpose, recording.pk, recording.speaker_id, recording.project.require_speaker, policy_mask
            )
            if usable and (not stream or recording_in_work(actor, recording, role=role)):
                return recording
    except (ValueError, TypeError, OverflowError):
        pass
    raise Http404("No such recording.")


def recording_in_work(actor, recording: Recording, *, role: str | None = None) -> bool:
    """Whether ``actor`` may stream ``recording`` under its role (``role``, or read): managers, viewers and
    exporters (and the system) may stream every usable recording of the project; annotators and reviewers only
    what the RECORDING_IN_WORK hook says is in their work."""
    if actor is None:
        return True
    role = role or role_in(user=actor, project_id=recording.project_id)
    if role not in WORK_SCOPED_ROLES:
        return True
    return any(hook_call(RECORDING_IN_WORK, actor=actor, role=role, recording_id=recording.pk))


def speaker_list(actor, *, project_id=None, roles=READ_ROLES) -> QuerySet:
    """Speakers in the projects ``actor`` may read (identity joined for the caller to show or not)."""
    qs = Speaker.objects.select_related("identity").order_by("-id")
    ids = project_ids_for(actor, roles)
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    return qs if project_id is None else qs.filter(project_id=project_id)


def speaker_get(actor, speaker_id, *, roles=READ_ROLES):
    """One speaker visible to ``actor``, or Http404."""
    try:
        return speaker_list(actor, roles=roles).select_related("project").get(pk=speaker_id)
    except (Speaker.DoesNotExist, ValueError, TypeError):
        raise Http404("No such speaker.") from None


def consent_get(actor, consent_id, *, roles=READ_ROLES) -> ConsentRecord:
    """One consent record of a speaker ``actor`` may read, or Http404."""
    qs = ConsentRecord.objects.select_related("speaker", "speaker__project")
    ids = project_ids_for(actor, roles)
    if ids is not None:
        qs = qs.filter(speaker__project_id__in=ids)
    try:
        return qs.get(pk=consent_id)
    except (ConsentRecord.DoesNotExist, ValueError, TypeError):
        raise Http404("No such consent.") from None


def audit_list(actor, *, project_id=None) -> QuerySet:
    """Audit events of the projects ``actor`` manages (staff: all, including system-wide ones)."""
    qs = AuditEvent.objects.all()
    ids = project_ids_for(actor, (Role.MANAGER,))
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    return qs if project_id is None else qs.filter(project_id=project_id)


def storage_owners() -> list:
    """The storage_owners hook: consent evidence files belong to the consent records that point at them."""

    def owned(keys: list[str]) -> set[str]:
        return set(ConsentRecord.objects.filter(evidence_key__in=keys).values_list("evidence_key", flat=True))

    return [("consent-evidence/", owned)]


def purge_grace() -> timedelta:
    """The grace period between a withdrawal and its purge (EARMARK_PURGE_GRACE_DAYS, read now)."""
    return timedelta(days=float(settings.EARMARK_PURGE_GRACE_DAYS))


def purges_due(*, now=None, project_id=None) -> QuerySet:
    """Pending purges due now: their date has come, or today's grace period has passed since the request.

    A grace period shortened after a withdrawal brings its purge forward; a longer one never postpones it.
    """
    now = now or timezone.now()
    qs = RecordingPurge.objects.filter(state=PurgeState.PENDING).filter(
        Q(due_at__lte=now) | Q(requested_at__lte=now - purge_grace())
    )
    return qs if project_id is None else qs.filter(recording__project_id=project_id)


def purges_summary(*, project_id) -> dict:
    """How many purges of a project are pending, and how many of those are due now."""
    pending = RecordingPurge.objects.filter(state=PurgeState.PENDING, recording__project_id=project_id).count()
    return {"pending": pending, "due": purges_due(project_id=project_id).count()}


def speakers_quarantined(*, project_id) -> QuerySet:
    """Speakers of a project with recordings held back because no consent of theirs is on record at all."""
    return (
        Speaker.objects.filter(project_id=project_id, consent_records__isnull=True)
        .annotate(held=Count("recordings", filter=~Q(recordings__status=RecordingStatus.PURGED)))
        .filter(held__gt=0)
        .order_by("code")
    )


def recordings_held_for_speech(*, project_id) -> QuerySet:
    """Speech checks of a project's speakerless recordings held because the detector found speech (a manager
    names a speaker or confirms no identifiable voice), oldest first, with their recording."""
    return (
        SpeechCheck.objects.filter(
            state=SpeechCheckState.HELD, recording__project_id=project_id, recording__speaker__isnull=True
        )
        .exclude(recording__status=RecordingStatus.PURGED)
        .select_related("recording")
        .order_by("recording_id")
    )


def speech_verdicts(*, recording_ids) -> dict[str, int]:
    """The speech detector's verdicts on these recordings, counted by state (``clear``, ``confirmed``, ``held``)
    plus ``unchecked`` for those it has not checked (for a data card: which speakerless audio holds no voice)."""
    ids = set(recording_ids)
    counts = dict.fromkeys(["clear", "confirmed", "held"], 0)
    for state in SpeechCheck.objects.filter(recording_id__in=ids).values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    counts["unchecked"] = len(ids) - sum(counts.values())
    return counts


def recording_project_id(recording_id) -> int | None:
    """The project of a recording, whatever its consent state (for permission checks before a decision)."""
    return Recording.objects.filter(pk=recording_id).values_list("project_id", flat=True).first()


def purge_metrics() -> list[tuple[str, str, list]]:
    """Gauges for /metrics (metrics_gauges hook): the purge backlog — pending purges, those past due, and the age
    of the oldest past-due one (alert when it grows: erasure is late)."""
    now = timezone.now()
    pending = RecordingPurge.objects.filter(state=PurgeState.PENDING)
    overdue = pending.filter(due_at__lt=now)
    oldest = overdue.order_by("due_at").values_list("due_at", flat=True).first()
    return [
        ("earmark_purges_pending", "Recording purges waiting (in their grace period or due).", [({}, pending.count())]),
        ("earmark_purges_overdue", "Recording purges past their due time, not done yet.", [({}, overdue.count())]),
        (
            "earmark_purge_overdue_seconds",
            "How long the oldest past-due purge has waited (0 when none).",
            [({}, (now - oldest).total_seconds() if oldest else 0.0)],
        ),
    ]
