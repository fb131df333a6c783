"""Server-rendered collection pages: the contributor's page (public), coverage, validation, clip audio."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods

from apps.catalog.models import AgeBand
from apps.catalog.selectors import project_page_get
from apps.catalog.streaming import CONTENT_TYPES, ranged_response
from apps.collection import selectors, services
from apps.collection.models import Contributor
from apps.collection.services.contribute import campaign_access, campaign_open_check
from apps.consent.services import audit_record
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE, MANAGERS, project_role_get

# The contributor page is the one page that needs the microphone (settings.EARMARK_PERMISSIONS_POLICY turns it
# off everywhere else).
MIC_POLICY = settings.EARMARK_PERMISSIONS_POLICY.replace("microphone=()", "microphone=(self)")


# apps.consent.pages.PLAIN's words for each purpose, as literals so makemessages finds them for translation
# (tests/collection/test_views.py keeps the two equal).
PURPOSE_WORDS = {
    "store": gettext_noop("keep your recordings on our servers"),
    "annotate": gettext_noop("let our team listen to them and label them"),
    "review": gettext_noop("let reviewers check that labelling"),
    "train_models": gettext_noop("use them to train speech and audio models"),
    "public_release": gettext_noop("publish them in a public dataset"),
    "commercial": gettext_noop("use them in commercial products"),
}


@require_http_methods(["GET"])
def contribute_page(request, code):
    """Consent, optional demographics, microphone check, then prompt by prompt. No account needed."""
    try:
        campaign, invite = campaign_access(token=code)
    except DomainError:
        raise Http404("No such campaign.") from None
    with translation.override(campaign.ui_language):
        closed = ""
        try:
            campaign_open_check(campaign)
        except DomainError as exc:
            closed = exc.message
        response = render(
            request,
            "collection/contribute.html",
            {
                "campaign": campaign,
                "form": campaign.consent_form,
                "purposes": [
                    (p, _(PURPOSE_WORDS[p]), p in campaign.purposes_required) for p in campaign.purposes_asked
                ],
                "age_bands": [(v, label) for v, label in AgeBand.choices if v],
                "languages": selectors.campaign_languages(campaign=campaign),
                "token": code,
                "closed": closed,
                "lang": campaign.ui_language,
                "ui_text": _ui_text(),
            },
            status=410 if closed and campaign.closes_at else 200,
        )
    response["Permissions-Policy"] = MIC_POLICY
    return response


def _ui_text() -> dict:
    """The page script's sentences, translated into the campaign's language (the page passes them as JSON)."""
    return {
        "join_failed": _("That did not work. Please check your choices and try again."),
        "offline": _("We could not reach the server. Please check your connection and try again."),
        "no_mic": _("We could not use a microphone. Please allow microphone access and try again."),
        "listening": _("Listening… please speak now."),
        "too_quiet": _("Too quiet: please move closer to the microphone or speak up, then check again."),
        "clipping": _("Too loud (the sound is distorted): please move back a little, then check again."),
        "too_noisy": _("Too much background noise: please find a quieter place, then check again."),
        "mic_ok": _("Your microphone sounds good (speech %(speech)s dB, background %(floor)s dB)."),
        "record": _("Record"),
        "stop": _("Stop"),
        "rerecord": _("Re-record"),
        "recording": _("Recording… press R or Stop when you have read the sentence."),
        "recorded": _("Recorded %(seconds)s seconds. Listen back, re-record, or go to the next sentence."),
        "prompt_of": _("Sentence %(n)s of %(total)s"),
        "all_done": _("All sentences recorded. Press Finish."),
        "sent": _("%(n)s clip(s) sent."),
        "waiting": _("%(n)s waiting to be sent…"),
        "retrying": _("The connection dropped; %(n)s clip(s) will be sent again shortly."),
        "upload_refused": _("A clip was refused."),
        "purposes": {p: _(text) for p, text in PURPOSE_WORDS.items()},
    }


@login_required
def campaign_list_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id, roles=ANYONE)
    return render(
        request,
        "collection/campaign_list.html",
        {"project": project, "campaigns": selectors.campaign_list(project_id=project_id), "role": role},
    )


@login_required
@require_http_methods(["GET", "POST"])
def coverage_page(request, campaign_id):
    """Hours and clips per language, accent, age band and gender against targets; what is missing; the queue."""
    campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, hide=True)
    is_manager = project_role_get(request.user, campaign.project_id) in MANAGERS
    if request.method == "POST":
        if not is_manager:
            raise Http404("No such campaign.")
        pk = request.POST.get("contributor", "")
        contributor = Contributor.objects.filter(pk=int(pk), campaign=campaign).first() if pk.isdigit() else None
        if contributor is None:
            raise Http404("No such contributor.")
        try:
            result = services.contributor_void(
                contributor_id=contributor.pk, actor=request.user, reason=request.POST.get("reason", "")[:2000]
            )
            messages.success(
                request,
                f"Contributor {contributor.speaker.code} voided: {result['clips_voided']} clip(s) taken out.",
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("collection:coverage", campaign_id=campaign.pk)
    contributors = (
        Contributor.objects.filter(campaign=campaign).select_related("speaker").order_by("-id")[:200]
        if is_manager
        else []
    )
    return render(
        request,
        "collection/coverage.html",
        {
            "campaign": campaign,
            "project": campaign.project,
            "coverage": selectors.campaign_coverage(campaign=campaign),
            "contributors": contributors,
            "is_manager": is_manager,
            "public_url": request.build_absolute_uri(f"/collect/{campaign.public_token}/")
            if campaign.public_token
            else "",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def validate_page(request, campaign_id):
    """Listeners hear a clip and its prompt and vote; reviewers settle the clips listeners disagree on."""
    campaign = selectors.campaign_for_validator(actor=request.user, campaign_id=campaign_id)
    if request.method == "POST":
        try:
            matches = request.POST.get("matches") == "yes"
            if request.POST.get("decide"):
                services.clip_review_decide(clip_id=request.POST.get("clip"), actor=request.user, matches=matches)
            else:
                services.vote_cast(clip_id=request.POST.get("clip"), voter=request.user, matches=matches)
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "That vote could not be counted."))
        return redirect("collection:validate", campaign_id=campaign.pk)
    clip = selectors.validation_queue(actor=request.user, campaign=campaign).first()
    role = project_role_get(request.user, campaign.project_id)
    disputed = selectors.disputed_clips(campaign=campaign)[:50] if role in selectors.DECIDER_ROLES else []
    return render(request, "collection/validate.html", {"campaign": campaign, "clip": clip, "disputed": disputed})


@login_required
def clip_audio(request, clip_id):
    """A clip's audio for the people who validate it (consent-checked for review, audited, no-store)."""
    clip = selectors.clip_get_for_validation(actor=request.user, clip_id=clip_id)
    recording = clip.recording
    audit_record(
        actor=request.user,
        action="recording.served",
        object_type="recording",
        object_id=recording.pk,
        project_id=recording.project_id,
        data={"route": "collection:clip-audio", "clip_id": clip.pk},
    )
    return ranged_response(
        request, recording.original_key, CONTENT_TYPES.get(recording.container, "application/octet-stream")
    )
