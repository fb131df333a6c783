from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.models import Membership
from apps.accounts.serializers import (
    CredentialsInput,
    MembershipInput,
    MembershipOutput,
    TokenCreatedOutput,
    TokenInput,
    TokenOutput,
)
from apps.accounts.services import login_event_record, membership_set, token_create, token_list, token_revoke
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE, MANAGERS, project_role_require

LOCKED_OUT = (
    "Too many failed sign-ins for this account from your address: signing in is blocked for a while. Try again later."
)


class ProjectMembersView(APIView):
    @extend_schema(responses=MembershipOutput(many=True))
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        members = Membership.objects.filter(project_id=project_id).select_related("user").order_by("id")
        return Response(MembershipOutput(members, many=True).data)

    @extend_schema(request=MembershipInput, responses={201: MembershipOutput})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = MembershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(
            project_id=project_id, user=data.validated_data["username"], role=data.validated_data["role"]
        )
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Exchange a username and password for a new API token (``Authorization: Token …``) that expires.

    Throttled per client (DRF, scope ``auth``) and locked out after repeated failures (django-axes, shared
    with the sign-in page): while locked out even the right password is refused with 429.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=CredentialsInput, responses={201: TokenCreatedOutput}, auth=[])
    def post(self, request):
        data = CredentialsInput(data=request.data)
        data.is_valid(raise_exception=True)
        args = data.validated_data
        # The Django request, not DRF's wrapper: axes marks a lockout on the object its middleware sees.
        user = authenticate(request._request, username=args["username"], password=args["password"])
        if getattr(request._request, "axes_locked_out", False):
            raise DomainError(LOCKED_OUT, status_code=429)
        if user is None:
            raise DomainError("Unable to sign in with this username and password.", status_code=400)
        token = token_create(user=user, name=args["name"], days=args.get("days"))
        login_event_record(event="login_succeeded", user_id=user.pk, via="api")
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenListView(APIView):
    """The signed-in user's API tokens: list them, or create one (its key is in this answer only)."""

    @extend_schema(responses=TokenOutput(many=True))
    def get(self, request):
        return Response(TokenOutput(token_list(user=request.user), many=True).data)

    @extend_schema(request=TokenInput, responses={201: TokenCreatedOutput})
    def post(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token = token_create(user=request.user, name=data.validated_data["name"], days=data.validated_data.get("days"))
        return Response(TokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, token_id):
        """Revoke one of your tokens: programs using it are refused from the next request on."""
        token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
