"""Server-rendered consent pages: the speaker's opt-out link (public) and the manager's consent page."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.catalog.models import RecordingStatus
from apps.catalog.selectors import project_page_get
from apps.consent import selectors, services
from apps.consent.models import ConsentRecord, RecordingWithdrawal
from apps.consent.purposes import Purpose
from apps.consent.services.optout import (
    OptoutLinkInvalid,
    optout_still_open,
    optout_token_make,
    optout_token_read,
)
from apps.consent.services.purge import purges_due_for_speaker, purges_run_now
from apps.consent.services.speakers import recording_speaker_change
from apps.consent.services.speech import recording_speech_confirm
from apps.core.errors import DomainError
from apps.core.permissions import MANAGERS

PLAIN = {  # what each purpose means, in the words the speaker reads
    "store": "keep your recordings on our servers",
    "annotate": "let our team listen to them and label them",
    "review": "let reviewers check that labelling",
    "train_models": "use them to train speech and audio models",
    "public_release": "publish them in a public dataset",
    "commercial": "use them in commercial products",
}
INVALID = {
    "expired": (
        "This link has expired",
        410,
        "Personal links work for {days} days. Nothing has been changed. Please ask the project team for a new "
        "link, or write to them: they can withdraw your consent for you.",
    ),
    "invalid": (
        "This link is not valid",
        400,
        "The link is incomplete or was altered, so we cannot tell whose consent it is. Nothing has been "
        "changed. Please copy the whole link from the message you received, or ask the project team.",
    ),
    "gone": ("This consent no longer exists", 404, "Nothing has been changed. Please contact the project team."),
}


def _invalid(request, kind):
    title, code, text = INVALID[kind]
    return render(
        request,
        "consent/optout_invalid.html",
        {"title": title, "text": text.format(days=settings.EARMARK_OPTOUT_LINK_DAYS)},
        status=code,
    )


def _speaker_recordings(record):
    return list(
        record.speaker.recordings.exclude(status=RecordingStatus.PURGED)
        .exclude(pk__in=RecordingWithdrawal.objects.values("recording_id"))
        .order_by("created_at")
        .values("id", "duration", "created_at")
    )


PURGE_RUN_MINUTES = 10  # config/celery.py runs due purges every 10 minutes


def _when_text(due) -> str:
    """The promise, in words, for a purge due at ``due`` (the periodic run picks it up within minutes)."""
    if due is None:
        return "after the grace period"
    if due <= timezone.now() + timedelta(minutes=PURGE_RUN_MINUTES):
        return "right away (within minutes)"
    return f"by {due + timedelta(minutes=PURGE_RUN_MINUTES):%d %B %Y}"


def _grace_text(record=None):
    """What the page promises before the speaker confirms: the earlier of a purge already pending and now + grace."""
    due = timezone.now() + timedelta(days=float(settings.EARMARK_PURGE_GRACE_DAYS))
    pending = purges_due_for_speaker(speaker_id=record.speaker_id) if record is not None else None
    return _when_text(due if pending is None else min(pending, due))


def _choice(request, record, recordings):
    """What the speaker picked: ('all'|'purposes'|'recordings', values) or a DomainError sentence."""
    scope = request.POST.get("scope", "all")
    if scope == "all":
        return scope, []
    if scope == "purposes":
        chosen = [p for p in request.POST.getlist("purposes") if p in record.purposes]
        if not chosen:
            raise DomainError("Please tick at least one use you want to stop.")
        return scope, chosen
    if scope == "recordings":
        allowed = {r["id"] for r in recordings}
        chosen = [int(i) for i in request.POST.getlist("recordings") if i.isdigit() and int(i) in allowed]
        if not chosen:
            raise DomainError("Please tick at least one recording you want removed.")
        return scope, chosen
    raise DomainError("Please choose what you want to withdraw.")


@require_http_methods(["GET", "POST"])
def optout_page(request, token):
    """The speaker's personal page: choose, confirm, done. No account, no JavaScript needed."""
    try:
        record = optout_token_read(token)
    except OptoutLinkInvalid as exc:
        return _invalid(request, exc.kind)
    context = {
        "record": record,
        "project": record.speaker.project,
        "grace": _grace_text(record),
        "purposes": [(p, PLAIN[p]) for p in record.purposes],
    }
    if not optout_still_open(record):
        due = purges_due_for_speaker(speaker_id=record.speaker_id)
        return render(request, "consent/optout_closed.html", {**context, "grace": due and _when_text(due)})
    recordings = _speaker_recordings(record)
    context["recordings"] = recordings
    if request.method == "GET":
        return render(request, "consent/optout.html", context)
    try:
        scope, values = _choice(request, record, recordings)
    except DomainError as exc:
        return render(request, "consent/optout.html", {**context, "error": exc.message}, status=400)
    context.update(scope=scope, values=values, chosen_plain=[PLAIN[v] for v in values] if scope == "purposes" else [])
    if request.POST.get("step") != "confirm":
        return render(request, "consent/optout_confirm.html", context)
    reason = request.POST.get("reason", "")[:2000]
    try:
        if scope == "all":  # every live consent record of this speaker, not only the one the link names
            result = services.speaker_withdraw_everything(
                speaker_id=record.speaker_id, actor=None, via="self_service", reason=reason
            )
        else:
            result = services.consent_withdraw(
                consent_id=record.id,
                actor=None,
                via="self_service",
                reason=reason,
                purposes=values if scope == "purposes" else None,
                recording_ids=values if scope == "recordings" else None,
            )
    except DomainError as exc:
        return render(request, "consent/optout.html", {**context, "error": exc.message}, status=exc.status_code)
    due = purges_due_for_speaker(speaker_id=record.speaker_id)
    context.update(deleted=result["purge_due_at"] is not None or due is not None, grace=_when_text(due))
    return render(request, "consent/optout_done.html", context)


# Destructive actions ask first (a confirmation page), then say what they did (a message on the page).
CONFIRM = {
    "withdraw_all": "Withdraw every consent of speaker {code}? Their recordings stop being used at once and "
    "are deleted {when}.",
    "withdraw": "Withdraw consent {consent} of speaker {code} (every purpose it grants)? If no other consent of "
    "theirs covers storage, their recordings are deleted {when}.",
    "withdraw_recording": "Withdraw recording {recording} of speaker {code}? It stops being used at once and is "
    "deleted {when}. This cannot be undone.",
    "purge_now": "Run the purges that are due now in this project? {due} recording(s) are due; their audio and "
    "everything made from it are deleted for good.",
    "speech_confirm": "Confirm that recording {recording} holds no identifiable voice? The speech detector heard "
    "{seconds} s of what sounds like speech in it (probability up to {probability}). Once you confirm, it is used "
    "like any recording without a speaker (annotation, review, releases) with no consent asked, and your decision "
    "is written to the audit log under your name.",
}


@login_required
@require_http_methods(["GET", "POST"])
def consent_manage_page(request, project_id):
    """Managers: add speakers with consent, record consent for quarantined ones, links, withdrawals, purges."""
    project, _ = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
    context = {"project": project, "purposes": Purpose.choices, "link": None, "error": None}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in CONFIRM and request.POST.get("confirm") != "yes":
                return _confirm(request, project, action)
            context["link"] = _manage_action(request, project)
        except DomainError as exc:
            context["error"], status = exc.message, exc.status_code
        if not context["error"] and not context["link"]:
            return redirect(request.path)
    speakers = selectors.speaker_list(request.user, project_id=project.id).prefetch_related("consent_records")
    context["speakers"] = speakers[:500]
    context["quarantined"] = selectors.speakers_quarantined(project_id=project.id)
    context["speech_held"] = selectors.recordings_held_for_speech(project_id=project.id)[:500]
    context["purges"] = selectors.purges_summary(project_id=project.id)
    return render(request, "consent/manage.html", context, status=status)


def _speaker(request, project):
    speaker = (
        selectors.speaker_list(request.user, project_id=project.id).filter(pk=request.POST.get("speaker") or 0).first()
    )
    if speaker is None:
        raise DomainError("No such speaker in this project.", status_code=404)
    return speaker


def _consent(request, project) -> ConsentRecord:
    record = (
        ConsentRecord.objects.select_related("speaker")
        .filter(pk=request.POST.get("consent") or 0, speaker__project=project)
        .first()
    )
    if record is None:
        raise DomainError("No such consent in this project.", status_code=404)
    return record


def _recording_id(request) -> int:
    raw = request.POST.get("recording", "").strip()
    if not raw.isdigit():
        raise DomainError("Give the recording's number (the id shown in the recording list).")
    return int(raw)


def _speech_held(request, project):
    """The speech check of the recording named in the form, held in this project, or a 404 in words."""
    recording_id = _recording_id(request)
    check = selectors.recordings_held_for_speech(project_id=project.id).filter(recording_id=recording_id).first()
    if check is None:
        raise DomainError(f"Recording {recording_id} is not held for speech in this project.", status_code=404)
    return check


def _confirm(request, project, action):
    """The 'are you sure' page: what will happen, with the same form fields and confirm=yes."""
    when = _grace_text()
    words = {"when": when, "due": selectors.purges_summary(project_id=project.id)["due"]}
    if action in ("withdraw_all", "withdraw_recording"):
        speaker = _speaker(request, project)
        words.update(code=speaker.code, recording=request.POST.get("recording", ""))
        if action == "withdraw_recording":
            _recording_id(request)
    elif action == "withdraw":
        record = _consent(request, project)
        words.update(consent=record.id, code=record.speaker.code)
    elif action == "speech_confirm":
        check = _speech_held(request, project)
        words.update(
            recording=check.recording_id,
            seconds=f"{check.speech_seconds:.1f}",
            probability=f"{check.max_probability:.2f}",
        )
    fields = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "confirm")}
    return render(
        request,
        "consent/manage_confirm.html",
        {"project": project, "question": CONFIRM[action].format(**words), "fields": fields},
    )


def _manage_action(request, project):
    action = request.POST.get("action")
    if action == "add":
        purposes = request.POST.getlist("purposes")
        if not purposes:
            raise DomainError("Tick at least one purpose the speaker agreed to.")
        services.speaker_enrol(
            project=project,
            code=request.POST.get("code", ""),
            actor=request.user,
            identity={"full_name": request.POST.get("full_name", ""), "email": request.POST.get("email", "")},
            purposes=purposes,
            evidence=request.FILES.get("evidence"),
        )
        messages.success(
            request, f"Speaker {request.POST.get('code', '').strip()} added with consent for {', '.join(purposes)}."
        )
        return None
    if action == "grant":  # consent for a speaker who already exists (e.g. quarantined recordings)
        speaker = _speaker(request, project)
        purposes = request.POST.getlist("purposes")
        if not purposes:
            raise DomainError("Tick at least one purpose the speaker agreed to.")
        services.consent_record(
            speaker=speaker, actor=request.user, purposes=purposes, evidence=request.FILES.get("evidence")
        )
        messages.success(request, f"Consent recorded for speaker {speaker.code}: {', '.join(purposes)}.")
        return None
    if action == "withdraw_all":
        speaker = _speaker(request, project)
        result = services.speaker_withdraw_everything(speaker_id=speaker.id, actor=request.user)
        messages.success(
            request,
            _done_text(f"Withdrew {len(result['consent_ids'])} consent record(s) of speaker {speaker.code}.", result),
        )
        return None
    if action == "withdraw_recording":
        speaker = _speaker(request, project)
        record = ConsentRecord.objects.filter(speaker=speaker, status="granted").order_by("-id").first()
        if record is None:
            raise DomainError(
                f"Speaker {speaker.code} has no consent left; their recordings are already excluded.", status_code=409
            )
        result = services.consent_withdraw(
            consent_id=record.id, actor=request.user, recording_ids=[_recording_id(request)]
        )
        messages.success(request, _done_text(f"Recording {result['recording_ids'][0]} withdrawn.", result))
        return None
    if action == "purge_now":
        counts = purges_run_now(actor=request.user, project_id=project.id)
        messages.success(
            request,
            f"Purged {counts['recordings']} recording(s) and {counts['speakers']} speaker "
            f"identit(ies); {counts['still_pending']} purge(s) still wait for their date.",
        )
        return None
    if action in ("speech_confirm", "speech_speaker"):
        return _speech_action(request, project, action)
    record = _consent(request, project)
    if action == "link":
        return request.build_absolute_uri(f"/optout/{optout_token_make(consent=record, actor=request.user)}/")
    if action == "withdraw":
        result = services.consent_withdraw(consent_id=record.id, actor=request.user, reason="")
        messages.success(
            request, _done_text(f"Consent {record.id} of speaker {record.speaker.code} withdrawn.", result)
        )
        return None
    raise DomainError("Unknown action.")


def _speech_action(request, project, action):
    """A recording held for speech: confirm no identifiable voice (audited), or name who speaks in it."""
    check = _speech_held(request, project)
    if action == "speech_confirm":
        recording_speech_confirm(recording_id=check.recording_id, actor=request.user)
        messages.success(
            request,
            f"Recording {check.recording_id}: you confirmed it holds no identifiable voice (written to the audit "
            "log). It is usable again like any recording without a speaker.",
        )
        return None
    speaker = _speaker(request, project)
    recording_speaker_change(recording_id=check.recording_id, speaker_id=speaker.id, actor=request.user)
    usable = selectors.recording_is_usable(None, Purpose.STORE, check.recording_id)
    messages.success(
        request,
        f"Recording {check.recording_id} now names speaker {speaker.code}: "
        + (
            "their consent covers it, so it is usable now."
            if usable
            else "it stays held until their consent is recorded (see the quarantined speakers above)."
        ),
    )
    return None


def _done_text(head: str, result: dict) -> str:
    due = result.get("purge_due_at")
    tail = (
        f" {result['purges_scheduled'] + result['purges_brought_forward']} recording(s) scheduled for deletion "
        f"{_when_text(due)}."
        if due
        else " No recording needs deleting (other consent still covers them)."
    )
    return (
        f"{head} Excluded from use at once; {result['assignments_cancelled']} open assignment(s) cancelled, "
        f"{result['releases_flagged']} release(s) flagged.{tail}"
    )
