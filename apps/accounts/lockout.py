"""What a locked-out client sees (django-axes' AXES_LOCKOUT_CALLABLE): a sentence, 429, JSON for the API."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

MESSAGE = (
    "Too many failed sign-ins for this account from your address: signing in is blocked for "
    "{minutes} minutes. Try again later."
)


def lockout_response(request, original_response=None, credentials=None):
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    message = MESSAGE.format(minutes=minutes)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/login.html", {"lockout": message, "form": None}, status=429)
