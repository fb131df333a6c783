"""Contributors join with consent given at the source, upload clips (each once), and can be voided."""

import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import soundfile as sf
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.annotation.services import annotation_transcript_import
from apps.catalog.models import AgeBand
from apps.catalog.services import recording_ingest
from apps.collection.models import Campaign, Clip, ClipState, Contributor, InviteCode
from apps.collection.selectors import campaign_languages, clips_usable
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.consent.services import audit_record, consent_record, consent_withdraw, speaker_create
from apps.consent.services.optout import optout_still_open, optout_token_make
from apps.core.errors import Conflict, DomainError

UPLOAD_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLIP_MAX_BYTES = 8 * 1024 * 1024
CLIP_MIN_SECONDS = 0.5
PCM_SUBTYPES = {"PCM_16", "PCM_24", "PCM_32", "FLOAT"}


@dataclass
class Joined:
    contributor: Contributor
    secret: str  # the contributor's session key (only its hash is stored)
    optout_token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def campaign_access(*, token: str) -> tuple[Campaign, InviteCode | None]:
    """The campaign a public link token or an invite code opens (404 for anything else, revoked codes too)."""
    token = (token or "").strip()
    if token:
        campaign = Campaign.objects.select_related("project", "consent_form").filter(public_token=token).first()
        if campaign is not None:
            return campaign, None
        invite = (
            InviteCode.objects.select_related("campaign__project", "campaign__consent_form")
            .filter(code=token, revoked=False)
            .first()
        )
        if invite is not None:
            return invite.campaign, invite
    raise DomainError("This link or invite code does not open any campaign.", status_code=404)


def campaign_open_check(campaign: Campaign, now=None) -> None:
    """403 before the campaign opens, 410 after it closes."""
    now = now or timezone.now()
    if campaign.opens_at and now < campaign.opens_at:
        raise DomainError(f"This campaign opens on {campaign.opens_at:%d %B %Y}.", status_code=403)
    if campaign.closes_at and now >= campaign.closes_at:
        raise DomainError("This campaign has closed: it takes no more recordings. Thank you!", status_code=410)


def _demographics(demographics: dict | None) -> dict:
    d = demographics or {}
    age_band = str(d.get("age_band") or "")
    if age_band not in AgeBand.values:
        raise DomainError(f"age band {age_band!r} is not one of {', '.join(v for v in AgeBand.values if v)}")
    gender, accent = str(d.get("gender") or "").strip(), str(d.get("accent") or "").strip()
    if len(gender) > 64 or len(accent) > 100:
        raise DomainError("Please describe gender in at most 64 characters and accent in at most 100.")
    return {"age_band": age_band, "gender": gender, "accent": accent}


def _caps_check(campaign: Campaign, invite: InviteCode | None, now) -> None:
    """Invite codes and the public link admit a set number of people, and only so many new ones per hour."""
    joined = Contributor.objects.filter(campaign=campaign, invite=invite)
    if invite is not None and joined.count() >= invite.max_contributors:
        raise DomainError("This invite code has been used by as many people as it admits.", status_code=403)
    if invite is None and campaign.public_max_contributors is not None:
        if joined.count() >= campaign.public_max_contributors:
            raise DomainError("This campaign has all the contributors it needs. Thank you!", status_code=403)
    if joined.filter(created_at__gte=now - timedelta(hours=1)).count() >= campaign.link_joins_per_hour:
        raise DomainError(
            "Many people joined through this link just now; please try again in an hour.", status_code=429
        )


def _language(campaign: Campaign, language: str) -> str:
    """The prompts' language the contributor reads: one the campaign has prompts in (the only one by default)."""
    tags = campaign_languages(campaign=campaign)
    if not language:
        return tags[0] if len(tags) == 1 else ""
    if language not in tags:
        raise DomainError(f"This campaign has no sentences in {language!r}; it has {', '.join(tags) or 'none yet'}.")
    return language


def contributor_join(*, token: str, purposes, demographics: dict | None = None, language: str = "") -> Joined:
    """A new pseudonymous contributor with the consent they gave on the page (all or nothing).

    Writes a Speaker (catalog, through consent), a ConsentRecord naming the campaign's form version, the ticked
    purposes and the time, a Contributor with that evidence, and audit events; makes their opt-out token.
    """
    now = timezone.now()
    with transaction.atomic():
        campaign, invite = campaign_access(token=token)
        campaign = Campaign.objects.select_for_update(of=("self",)).select_related("consent_form").get(pk=campaign.pk)
        campaign_open_check(campaign, now)
        chosen = [p for p in campaign.purposes_asked if p in {str(p) for p in purposes or []}]
        unasked = sorted({str(p) for p in purposes or []} - set(campaign.purposes_asked))
        if unasked:
            raise DomainError(f"This campaign does not ask for {', '.join(unasked)}.")
        missing = [p for p in campaign.purposes_required if p not in chosen]
        if missing:
            raise DomainError(
                f"To record, please tick: {', '.join(missing)}. Without it nothing can be kept, so nothing is recorded."
            )
        attributes = _demographics(demographics)
        language = _language(campaign, (language or "").strip())
        _caps_check(campaign, invite, now)
        speaker = speaker_create(
            project=campaign.project, code=f"c{campaign.pk}-{secrets.token_hex(4)}", actor="speaker", **attributes
        )
        form = campaign.consent_form
        consent = consent_record(speaker=speaker, actor="speaker", purposes=chosen, form=form, granted_at=now)
        secret = secrets.token_urlsafe(24)
        contributor = Contributor.objects.create(
            campaign=campaign,
            speaker=speaker,
            consent=consent,
            invite=invite,
            language=language,
            secret_sha256=_hash(secret),
            evidence={
                "form_id": form.pk,
                "form_title": form.title,
                "form_version": form.version,
                "form_sha256": form.sha256,
                "purposes_asked": campaign.purposes_asked,
                "purposes_granted": chosen,
                "granted_at": now.isoformat(),
                "via": "invite" if invite else "public_link",
            },
        )
        audit_record(
            actor="speaker",
            action="contributor.joined",
            object_type="contributor",
            object_id=contributor.pk,
            project_id=campaign.project_id,
            data={"campaign_id": campaign.pk, "purposes": chosen, "speaker_id": speaker.pk},
        )
        token_out = optout_token_make(consent=consent, actor="speaker")
    return Joined(contributor, secret, token_out)


def contributor_by_secret(secret: str) -> Contributor:
    """The contributor a session key belongs to, or 404."""
    contributor = (
        Contributor.objects.select_related("campaign__project", "speaker", "consent")
        .filter(secret_sha256=_hash(secret or ""))
        .first()
    )
    if contributor is None:
        raise DomainError("This recording session is not known; please open the campaign link again.", status_code=404)
    return contributor


def _audio_check(data: bytes, max_seconds: float) -> None:
    """Server QA before anything is stored: uncompressed PCM WAV, mono or stereo, of a plausible length."""
    if not data:
        raise DomainError("The clip arrived empty; please record it again.")
    try:
        info = sf.info(io.BytesIO(data))
    except RuntimeError:
        raise DomainError("The clip is not a readable WAV file; please record it again.") from None
    if info.format != "WAV" or info.subtype not in PCM_SUBTYPES:
        raise DomainError(f"Clips must be uncompressed PCM WAV (got {info.format} {info.subtype}).")
    if info.channels > 2:
        raise DomainError("Clips must be mono or stereo.")
    if info.duration < CLIP_MIN_SECONDS:
        raise DomainError("The clip is too short; please read the whole prompt.")
    if info.duration > max_seconds:
        raise DomainError(f"The clip is longer than {max_seconds:g} seconds; please record only the prompt.")


def _upload_limits(contributor: Contributor, prompt, now) -> None:
    campaign = contributor.campaign
    if Clip.objects.filter(contributor=contributor).count() >= campaign.clips_per_contributor:
        raise DomainError(
            "You have recorded as many clips as this campaign takes from one person. Thank you!", status_code=403
        )
    recent = Clip.objects.filter(contributor=contributor, created_at__gte=now - timedelta(minutes=1)).count()
    if recent >= campaign.contributor_clips_per_minute:
        raise DomainError("That was fast: please wait a minute before sending more clips.", status_code=429)
    if Clip.objects.filter(contributor=contributor, prompt=prompt).exists():
        raise Conflict("You have already recorded this prompt.")
    counted = (
        clips_usable(Purpose.STORE).filter(prompt=prompt).exclude(state__in=[ClipState.VOIDED, ClipState.INVALIDATED])
    )  # the same count as the prompts handed out (selectors.prompts_for_contributor)
    if counted.count() >= campaign.clips_per_prompt:
        raise Conflict("This prompt has all the recordings it needs; please go on to the next one.")


def clip_upload(*, secret: str, prompt_key: str, upload_key: str, data: bytes) -> tuple[Clip, bool]:
    """Store one clip through the normal ingest path, once per upload key; returns (clip, created).

    A retried upload with the same key returns the clip already stored (``created`` False) and writes nothing.
    Otherwise writes, in one transaction: the Recording (catalog ingest: speaker, language, campaign as its
    source; its processing job after commit), the prompt as a submitted transcript (annotation), the Clip.
    Anything refused leaves no row and no object.
    """
    if not UPLOAD_KEY.match(upload_key or ""):
        raise DomainError("upload_key must be 8 to 64 letters, digits, '-' or '_'.")
    contributor = contributor_by_secret(secret)
    done = Clip.objects.filter(contributor=contributor, upload_key=upload_key).first()
    if done is not None:
        return done, False
    if contributor.voided_at is not None:
        raise DomainError("The project team closed this recording session.", status_code=403)
    if not optout_still_open(contributor.consent):
        raise DomainError("You withdrew your consent, so nothing more is recorded.", status_code=403)
    campaign = contributor.campaign
    now = timezone.now()
    campaign_open_check(campaign, now)
    prompt = campaign.prompts.select_related("language").filter(key=prompt_key).first()
    if prompt is None:
        raise DomainError(f"This campaign has no prompt {prompt_key!r}.")
    if len(data) > CLIP_MAX_BYTES:
        raise DomainError(f"A clip may be at most {CLIP_MAX_BYTES // (1024 * 1024)} MB.")
    _audio_check(data, campaign.max_clip_seconds)
    try:
        with transaction.atomic():
            Contributor.objects.select_for_update().filter(pk=contributor.pk).first()  # one upload at a time
            done = Clip.objects.filter(contributor=contributor, upload_key=upload_key).first()
            if done is not None:
                return done, False
            _upload_limits(contributor, prompt, now)
            result = recording_ingest(
                project=campaign.project,
                fileobj=io.BytesIO(data),
                name=f"{prompt.key}.wav",
                speaker_code=contributor.speaker.code,
                language_tag=prompt.language.tag,
                metadata={"source": "campaign", "campaign_id": campaign.pk, "prompt_id": prompt.key},
            )
            if result.status == "duplicate":
                raise Conflict("These exact bytes were uploaded before; please record the prompt again.")
            if result.status != "accepted":
                raise DomainError(result.message)
            recording = recordings_usable(None, Purpose.STORE).get(pk=result.recording_id)
            annotation = annotation_transcript_import(
                recording=recording,
                author=campaign.created_by,
                text=prompt.text,
                source={"kind": "campaign_prompt", "campaign": campaign.pk, "prompt": prompt.key},
            )
            clip = Clip.objects.create(
                contributor=contributor,
                prompt=prompt,
                recording=recording,
                annotation=annotation,
                upload_key=upload_key,
            )
    except IntegrityError:
        done = Clip.objects.filter(contributor=contributor, upload_key=upload_key).first()
        if done is None:
            raise
        return done, False
    return clip, True


def contributor_void(*, contributor_id: int, actor, reason: str = "") -> dict:
    """Take every clip of one contributor out (abuse, not their voice, ...) and close their session; audited.

    Their recordings are withdrawn through consent (RecordingWithdrawal rows: out of every path at once, purge
    scheduled); nobody else's clips change. Writes Contributor.voided_*, Clip states, audit events.
    """
    with transaction.atomic():
        contributor = (
            Contributor.objects.select_for_update(of=("self",))
            .select_related("campaign", "consent")
            .filter(pk=contributor_id)
            .first()
        )
        if contributor is None:
            raise DomainError("No such contributor.", status_code=404)
        if contributor.voided_at is not None:
            raise Conflict("This contributor was already voided.")
        clips = Clip.objects.filter(contributor=contributor)
        live = list(
            recordings_usable(None, Purpose.STORE)
            .filter(pk__in=clips.values("recording_id"))
            .values_list("pk", flat=True)
        )
        effects: dict = {}
        if live and optout_still_open(contributor.consent):
            effects = consent_withdraw(
                consent_id=contributor.consent_id, actor=actor, recording_ids=live, reason=reason or "voided"
            )
        voided = clips.exclude(state=ClipState.VOIDED).update(state=ClipState.VOIDED, decided_at=timezone.now())
        contributor.voided_at, contributor.voided_by = timezone.now(), actor
        contributor.save(update_fields=["voided_at", "voided_by"])
        audit_record(
            actor=actor,
            action="contributor.voided",
            object_type="contributor",
            object_id=contributor.pk,
            project_id=contributor.campaign.project_id,
            data={"clips": voided, "recordings_withdrawn": len(live)},
        )
    return {
        "clips_voided": voided,
        "recordings_withdrawn": len(live),
        "purges_scheduled": effects.get("purges_scheduled", 0),
    }
