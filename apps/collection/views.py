"""Collection API: thin views — authenticate, parse, one call, render."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.selectors import project_page_get
from apps.collection import selectors, services
from apps.collection.models import Contributor
from apps.collection.serializers import (
    CampaignCreateInput,
    CampaignOutput,
    ClipOutput,
    ClipUploadInput,
    InviteOutput,
    InvitesInput,
    JoinInput,
    ListenerInput,
    PromptOutput,
    PromptsImportInput,
    VoidInput,
    VoteInput,
)
from apps.collection.services.contribute import contributor_by_secret
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE, MANAGERS, project_role_require

CONTRIBUTOR_HEADER = "X-Contributor-Key"


def _page(qs, limit=500):
    return list(qs[:limit])


class ProjectCampaignsView(APIView):
    """List a project's campaigns (members), or create one (managers)."""

    @extend_schema(responses=CampaignOutput(many=True))
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(CampaignOutput(_page(selectors.campaign_list(project_id=project_id)), many=True).data)

    @extend_schema(request=CampaignCreateInput, responses={201: CampaignOutput})
    def post(self, request, project_id):
        project, _ = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
        data = CampaignCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(project=project, actor=request.user, **data.validated_data)
        return Response(CampaignOutput(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    @extend_schema(responses=CampaignOutput)
    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=ANYONE)
        return Response(CampaignOutput(campaign).data)


class CampaignCoverageView(APIView):
    """Hours and clips against the targets, missing prompts, contributors, the validation queue."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
        return Response(selectors.campaign_coverage(campaign=campaign))


class CampaignPromptsView(APIView):
    """The prompts (members), or import more from text or CSV/TSV (managers; all or nothing)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=PromptOutput(many=True))
    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=ANYONE)
        return Response(PromptOutput(_page(campaign.prompts.select_related("language"), 20000), many=True).data)

    @extend_schema(request=PromptsImportInput, responses={201: PromptOutput(many=True)})
    def post(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=MANAGERS)
        data = PromptsImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        content = data.validated_data["content"]
        upload = data.validated_data.get("file")
        if upload is not None:
            try:
                content = upload.read(4 * 1024 * 1024).decode("utf-8")
            except UnicodeDecodeError:
                raise DomainError("The prompt file must be UTF-8 text.") from None
        prompts = services.prompts_import(
            campaign=campaign, content=content, language_tag=data.validated_data["language"], actor=request.user
        )
        return Response(PromptOutput(prompts, many=True).data, status=status.HTTP_201_CREATED)


class CampaignInvitesView(APIView):
    @extend_schema(responses=InviteOutput(many=True))
    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=MANAGERS)
        return Response(InviteOutput(_page(campaign.invites.order_by("id"), 1000), many=True).data)

    @extend_schema(request=InvitesInput, responses={201: InviteOutput(many=True)})
    def post(self, request, campaign_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=MANAGERS)
        data = InvitesInput(data=request.data)
        data.is_valid(raise_exception=True)
        codes = services.invites_create(campaign=campaign, actor=request.user, **data.validated_data)
        return Response(InviteOutput(codes, many=True).data, status=status.HTTP_201_CREATED)


class ContributorVoidView(APIView):
    """A manager takes every clip of one contributor out (withdrawn through consent), audited."""

    @extend_schema(request=VoidInput, responses=OpenApiTypes.OBJECT)
    def post(self, request, campaign_id, contributor_id):
        campaign = selectors.campaign_get(actor=request.user, campaign_id=campaign_id, roles=MANAGERS)
        if not Contributor.objects.filter(pk=contributor_id, campaign=campaign).exists():
            raise Http404("No such contributor.")
        data = VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.contributor_void(
            contributor_id=contributor_id, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(result)


class ClipVoteView(APIView):
    @extend_schema(request=VoteInput, responses=ClipOutput)
    def post(self, request, clip_id):
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        clip = services.vote_cast(clip_id=clip_id, voter=request.user, matches=data.validated_data["matches"])
        return Response(ClipOutput(clip).data, status=status.HTTP_201_CREATED)


class ClipDecisionView(APIView):
    @extend_schema(request=VoteInput, responses=ClipOutput)
    def post(self, request, clip_id):
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        clip = services.clip_review_decide(clip_id=clip_id, actor=request.user, matches=data.validated_data["matches"])
        return Response(ClipOutput(clip).data)


class ProjectListenersView(APIView):
    """Admit a signed-in volunteer as a listener (managers)."""

    @extend_schema(request=ListenerInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, project_id):
        project, _ = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
        data = ListenerInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None:
            raise DomainError(f"There is no active account named {data.validated_data['username']!r}.")
        services.listener_admit(project=project, user=user, actor=request.user)
        return Response({"username": user.username}, status=status.HTTP_201_CREATED)


# --- the contributor's side: no account; the session key travels in a header, never in a URL ---------------


class ContributorJoinView(APIView):
    """Consent given on the page (purposes ticked, optional demographics): a pseudonymous contributor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=JoinInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, code):
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        joined = services.contributor_join(
            token=code,
            purposes=d["purposes"],
            demographics={"age_band": d["age_band"], "gender": d["gender"], "accent": d["accent"]},
            language=d["language"],
        )
        contributor = joined.contributor
        prompts = selectors.prompts_for_contributor(contributor=contributor)
        return Response(
            {
                "key": joined.secret,
                "speaker_code": contributor.speaker.code,
                "optout_url": request.build_absolute_uri(f"/optout/{joined.optout_token}/"),
                "purposes": contributor.evidence["purposes_granted"],
                "prompts": [{"id": p.key, "text": p.text, "language": p.language.tag} for p in prompts],
            },
            status=status.HTTP_201_CREATED,
        )


class ContributorClipsView(APIView):
    """One clip (WAV) per request; ``upload_key`` makes a retried upload arrive once (200 the second time)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    @extend_schema(request=ClipUploadInput, responses={201: ClipOutput, 200: ClipOutput})
    def post(self, request):
        data = ClipUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        clip, created = services.clip_upload(
            secret=request.headers.get(CONTRIBUTOR_HEADER, ""),
            prompt_key=d["prompt"],
            upload_key=d["upload_key"],
            data=d["audio"].read(services.contribute.CLIP_MAX_BYTES + 1),
        )
        return Response(ClipOutput(clip).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ContributorPromptsView(APIView):
    """The prompts still wanted from this contributor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        contributor = contributor_by_secret(request.headers.get(CONTRIBUTOR_HEADER, ""))
        prompts = selectors.prompts_for_contributor(contributor=contributor)
        return Response({"prompts": [{"id": p.key, "text": p.text, "language": p.language.tag} for p in prompts]})
