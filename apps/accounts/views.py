from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Membership
from apps.accounts.serializers import MembershipInput, MembershipOutput
from apps.accounts.services import membership_set
from apps.core.permissions import ANYONE, MANAGERS, project_role_require


class ProjectMembersView(APIView):
    @extend_schema(responses=MembershipOutput(many=True))
    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        members = Membership.objects.filter(project_id=project_id).select_related("user").order_by("id")
        return Response(MembershipOutput(members, many=True).data)

    @extend_schema(request=MembershipInput, responses=MembershipOutput)
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = MembershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(project_id=project_id, user=data.validated_data["username"],
                                    role=data.validated_data["role"])
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (``Authorization: Token …``)."""

    permission_classes = [AllowAny]
