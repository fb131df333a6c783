"""Consent API: thin views — authenticate, parse, one call, render."""

from django.http import FileResponse, Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.models import Project
from apps.consent import selectors, services
from apps.consent import serializers as s
from apps.consent.models import ConsentForm, ConsentRecord
from apps.consent.services.export import speaker_export
from apps.consent.services.optout import optout_token_make
from apps.consent.services.purge import purges_run_now
from apps.consent.services.speech import recording_speech_confirm
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE, MANAGERS, Role, project_role_require


def _project_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({"project": "give the project id as ?project=<id>"}) from None


class SpeakerListView(ListAPIView):
    """A project's speakers (?project=<id>); managers also see direct identifiers. POST creates one."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return selectors.speaker_list(None)
        project_id = _project_id(self.request.query_params.get("project"))
        self.role = project_role_require(self.request.user, project_id, ANYONE)
        return selectors.speaker_list(self.request.user, project_id=project_id)

    def get_serializer_class(self):
        return s.SpeakerManagerOutput if getattr(self, "role", None) == Role.MANAGER else s.SpeakerOutput

    @extend_schema(request=s.SpeakerInput, responses={201: s.SpeakerManagerOutput})
    def post(self, request):
        data = s.SpeakerInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(data.validated_data)
        project_role_require(request.user, args["project"], MANAGERS)
        project = Project.objects.get(pk=args.pop("project"))
        speaker = services.speaker_create(
            project=project, actor=request.user, identity=args.pop("identity", None), **args
        )
        return Response(s.SpeakerManagerOutput(speaker).data, status=status.HTTP_201_CREATED)


class SpeakerDetailView(APIView):
    @extend_schema(responses=s.SpeakerDetailOutput)
    def get(self, request, speaker_id):
        speaker = selectors.speaker_get(request.user, speaker_id)
        manager = project_role_require(request.user, speaker.project_id, ANYONE) == Role.MANAGER
        return Response((s.SpeakerManagerOutput if manager else s.SpeakerOutput)(speaker).data)


class SpeakerConsentsView(APIView):
    """A speaker's consent records (managers); POST records a new consent, with optional evidence upload."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def _speaker(self, request, speaker_id):
        speaker = selectors.speaker_get(request.user, speaker_id)
        project_role_require(request.user, speaker.project_id, MANAGERS)
        return speaker

    @extend_schema(responses=inline_serializer("ConsentListOutput", {"results": s.ConsentOutput(many=True)}))
    def get(self, request, speaker_id):
        speaker = self._speaker(request, speaker_id)
        records = ConsentRecord.objects.filter(speaker=speaker).order_by("-id")
        return Response({"results": s.ConsentOutput(records, many=True).data})

    @extend_schema(request=s.ConsentInput, responses={201: s.ConsentOutput})
    def post(self, request, speaker_id):
        speaker = self._speaker(request, speaker_id)
        payload = request.data
        if hasattr(request.data, "getlist"):  # form posts: purposes repeated or comma-separated
            payload = {**{k: request.data.get(k) for k in request.data}, "purposes": _purposes_list(request.data)}
        data = s.ConsentInput(data=payload)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        form = None
        if args.get("form"):
            form = ConsentForm.objects.filter(pk=args["form"]).first()
            if form is None or form.project_id not in (None, speaker.project_id):
                raise DomainError(f"there is no consent form {args['form']} for this project")
        record = services.consent_record(
            speaker=speaker,
            actor=request.user,
            purposes=args["purposes"],
            form=form,
            granted_at=args.get("granted_at"),
            expires_at=args.get("expires_at"),
            evidence=args.get("evidence"),
        )
        return Response(s.ConsentOutput(record).data, status=status.HTTP_201_CREATED)


def _purposes_list(data) -> list[str]:
    values = data.getlist("purposes")
    return [p.strip() for v in values for p in str(v).split(",") if p.strip()]


class SpeakerExportView(APIView):
    """Subject access: a zip with everything Earmark holds about the speaker (managers)."""

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, speaker_id):
        speaker = selectors.speaker_get(request.user, speaker_id)
        project_role_require(request.user, speaker.project_id, MANAGERS)
        now = timezone.now()
        archive = speaker_export(speaker=speaker, actor=request.user, now=now)
        return FileResponse(
            archive,
            as_attachment=True,
            content_type="application/zip",
            filename=f"speaker-{speaker.code}-{now:%Y%m%d}.zip",
        )


class ConsentDetailView(APIView):
    @extend_schema(responses=s.ConsentOutput)
    def get(self, request, consent_id):
        record = selectors.consent_get(request.user, consent_id)
        project_role_require(request.user, record.speaker.project_id, MANAGERS)
        return Response(s.ConsentOutput(record).data)


class ConsentWithdrawView(APIView):
    """Withdraw all purposes (empty body), some (`purposes`), or single recordings (`recording_ids`)."""

    @extend_schema(
        request=s.WithdrawInput, responses=inline_serializer("WithdrawOutput", {"consent": s.ConsentOutput()})
    )  # plus counts of what the withdrawal changed
    def post(self, request, consent_id):
        record = selectors.consent_get(request.user, consent_id)
        project_role_require(request.user, record.speaker.project_id, MANAGERS)
        data = s.WithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.consent_withdraw(consent_id=record.id, actor=request.user, **data.validated_data)
        body = {k: v for k, v in result.items() if k != "consent"}
        return Response({"consent": s.ConsentOutput(result["consent"]).data, **body})


class ConsentOptoutLinkView(APIView):
    """Create the speaker's personal opt-out link for this consent (managers)."""

    @extend_schema(
        request=None,
        responses={201: {"type": "object", "properties": {"url": {"type": "string"}, "token": {"type": "string"}}}},
    )
    def post(self, request, consent_id):
        record = selectors.consent_get(request.user, consent_id)
        project_role_require(request.user, record.speaker.project_id, MANAGERS)
        token = optout_token_make(consent=record, actor=request.user)
        url = request.build_absolute_uri(f"/optout/{token}/")
        return Response({"url": url, "token": token}, status=status.HTTP_201_CREATED)


class ConsentFormListView(ListAPIView):
    """Consent form versions of a project (?project=<id>); POST stores a new version (managers)."""

    serializer_class = s.ConsentFormOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ConsentForm.objects.none()
        project_id = _project_id(self.request.query_params.get("project"))
        project_role_require(self.request.user, project_id, ANYONE)
        return ConsentForm.objects.filter(project_id=project_id).select_related("language").order_by("-id")

    @extend_schema(request=s.ConsentFormInput, responses={201: s.ConsentFormOutput})
    def post(self, request):
        data = s.ConsentFormInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = dict(data.validated_data)
        project_role_require(request.user, args["project"], MANAGERS)
        form = services.consent_form_create(
            project=Project.objects.get(pk=args.pop("project")), language_tag=args.pop("language"), **args
        )
        return Response(s.ConsentFormOutput(form).data, status=status.HTTP_201_CREATED)


class ProjectConsentPolicyView(APIView):
    """The project's consent policy: purposes needed per use, what ingest does without them, retention."""

    @extend_schema(responses=s.PolicyIO)
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(s.PolicyIO(services.policy_get(project_id)).data)

    @extend_schema(request=s.PolicyIO, responses=s.PolicyIO)
    def put(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = s.PolicyIO(data=request.data)
        data.is_valid(raise_exception=True)
        policy = services.policy_set(
            project=Project.objects.get(pk=project_id), actor=request.user, **data.validated_data
        )
        return Response(s.PolicyIO(policy).data)


class AuditListView(ListAPIView):
    """Audit events of the projects you manage (?project=<id> to narrow), newest first, cursor-paged."""

    serializer_class = s.AuditOutput

    def get_queryset(self):
        project = self.request.query_params.get("project")
        return selectors.audit_list(self.request.user, project_id=_project_id(project) if project else None)


class SpeakerWithdrawView(APIView):
    """Withdraw everything of a speaker: every live consent record at once (managers)."""

    @extend_schema(request=s.WithdrawEverythingInput, responses=s.WithdrawEverythingOutput)
    def post(self, request, speaker_id):
        speaker = selectors.speaker_get(request.user, speaker_id)
        project_role_require(request.user, speaker.project_id, MANAGERS)
        data = s.WithdrawEverythingInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.speaker_withdraw_everything(
            speaker_id=speaker.id, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(s.WithdrawEverythingOutput(result).data)


class ProjectPurgesRunView(APIView):
    """Run this project's due purges now (managers); answers what was purged and what still waits."""

    @extend_schema(request=None, responses=s.PurgeRunOutput)
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        return Response(s.PurgeRunOutput(purges_run_now(actor=request.user, project_id=project_id)).data)


class RecordingSpeechConfirmView(APIView):
    """A recording held for speech with no speaker: a manager confirms it holds no identifiable voice (audited).
    To name a speaker instead, use the admin's recording page (consent-aware) or record the speaker's consent."""

    @extend_schema(request=None, responses={200: {"type": "object", "properties": {"state": {"type": "string"}}}})
    def post(self, request, recording_id):
        project_id = selectors.recording_project_id(recording_id)
        if project_id is None:
            raise Http404("No such recording.")
        project_role_require(request.user, project_id, MANAGERS)
        check = recording_speech_confirm(recording_id=recording_id, actor=request.user)
        return Response({"state": check.state})
