"""Security headers Django has no setting for."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    """Adds Permissions-Policy (EARMARK_PERMISSIONS_POLICY): browser features no page of ours uses are off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.EARMARK_PERMISSIONS_POLICY)
        return response
