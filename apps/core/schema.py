"""OpenAPI: every operation documents the error answers the exception handler gives (JSON with a sentence)."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    """Every API error: a sentence a person can act on, and for invalid input the errors field by field."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    errors = serializers.JSONField(required=False, help_text="Invalid input: the messages per field.")


# Answers any operation can give: bad input (400), no or a bad token (401), a role that may not (403),
# nothing there or nothing the caller may see (404), too many requests (429).
_ANY = {
    "400": "The request is invalid; `detail` says why.",
    "401": "No valid token or session.",
    "403": "Your role in the project does not allow this.",
    "404": "No such object, or none you may see.",
    "429": "Too many requests; retry later.",
}
# And for writes: the state does not allow it now (409), the body is too large (413) or not a type it takes (415).
_WRITES = {
    "409": "The object's current state does not allow this; `detail` says what to do.",
    "413": "The request body is larger than the server accepts.",
    "415": "The request body's media type is not one this operation takes.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error responses above, unless a view documents its own."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = {**_ANY, **(_WRITES if self.method in ("POST", "PUT", "PATCH", "DELETE") else {})}
        for code, description in codes.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutput, description=description), code, ["application/json"], direction
                )
        return responses
