"""Server-rendered consent pages: the speaker's opt-out link (public) and the manager's consent page."""

from datetime import timedelta

from django.conf import settings
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
    "expired": ("This link has expired", 410,
                "Personal links work for {days} days. Nothing has been changed. Please ask the project team for a new "
                "link, or write to them: they can withdraw your consent for you."),
    "invalid": ("This link is not valid", 400,
                "The link is incomplete or was altered, so we cannot tell whose consent it is. Nothing has been "
                "changed. Please copy the whole link from the message you received, or ask the project team."),
    "gone": ("This consent no longer exists", 404, "Nothing has been changed. Please contact the project team."),
}


def _invalid(request, kind):
    title, code, text = INVALID[kind]
    return render(request, "consent/optout_invalid.html",
                  {"title": title, "text": text.format(days=settings.EARMARK_OPTOUT_LINK_DAYS)}, status=code)


def _speaker_recordings(record):
    return list(record.speaker.recordings.exclude(status=RecordingStatus.PURGED)
                .exclude(pk__in=RecordingWithdrawal.objects.values("recording_id"))
                .order_by("created_at").values("id", "duration", "created_at"))


def _grace_text():
    days = float(settings.EARMARK_PURGE_GRACE_DAYS)
    when = timezone.now() + timedelta(days=days)
    return "right away" if days <= 0 else f"by {when:%d %B %Y}"


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
    context = {"record": record, "project": record.speaker.project, "grace": _grace_text(),
               "purposes": [(p, PLAIN[p]) for p in record.purposes]}
    if not optout_still_open(record):
        return render(request, "consent/optout_closed.html", context)
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
    try:
        services.consent_withdraw(
            consent_id=record.id, actor=None, via="self_service",
            purposes=values if scope == "purposes" else None, recording_ids=values if scope == "recordings" else None,
            reason=request.POST.get("reason", "")[:2000])
    except DomainError as exc:
        return render(request, "consent/optout.html", {**context, "error": exc.message}, status=exc.status_code)
    return render(request, "consent/optout_done.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def consent_manage_page(request, project_id):
    """Managers: add a speaker with their consent, create opt-out links, withdraw on request."""
    project, _ = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
    context = {"project": project, "purposes": Purpose.choices, "link": None, "error": None}
    status = 200
    if request.method == "POST":
        try:
            context["link"] = _manage_action(request, project)
        except DomainError as exc:
            context["error"], status = exc.message, exc.status_code
        if not context["error"] and not context["link"]:
            return redirect(request.path)
    speakers = selectors.speaker_list(request.user, project_id=project.id).prefetch_related("consent_records")
    context["speakers"] = speakers[:500]
    return render(request, "consent/manage.html", context, status=status)


def _manage_action(request, project):
    action = request.POST.get("action")
    if action == "add":
        purposes = request.POST.getlist("purposes")
        if not purposes:
            raise DomainError("Tick at least one purpose the speaker agreed to.")
        services.speaker_enrol(
            project=project, code=request.POST.get("code", ""), actor=request.user,
            identity={"full_name": request.POST.get("full_name", ""), "email": request.POST.get("email", "")},
            purposes=purposes, evidence=request.FILES.get("evidence"))
        return None
    record = ConsentRecord.objects.filter(pk=request.POST.get("consent") or 0, speaker__project=project).first()
    if record is None:
        raise DomainError("No such consent in this project.", status_code=404)
    if action == "link":
        return request.build_absolute_uri(f"/optout/{optout_token_make(consent=record, actor=request.user)}/")
    if action == "withdraw":
        services.consent_withdraw(consent_id=record.id, actor=request.user, reason="")
        return None
    raise DomainError("Unknown action.")
