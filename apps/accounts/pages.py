"""Account pages: the signed-in user's API tokens (a minimal page; issue 16's manager UI builds on the services)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts import services
from apps.core.errors import DomainError


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request):
    """List, create and revoke the user's API tokens; a new key is shown once, on the answer to its creation."""
    new_key = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create":
                new_key = services.token_create(user=request.user, name=request.POST.get("name", "")).key
            elif request.POST.get("action") == "revoke":
                services.token_revoke(user=request.user, token_id=request.POST.get("token_id"))
                messages.success(request, "Token revoked: programs using it can no longer sign in.")
                return redirect("accounts:tokens")
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(
        request, "accounts/tokens.html", {"tokens": services.token_list(user=request.user), "new_key": new_key}
    )
