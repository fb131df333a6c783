"""Account pages: the signed-in user's API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts import services


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request):
    """List, create and revoke the user's API tokens; a new key is shown once, on the answer to its creation."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("action") == "create":
            new_key = services.token_create(user=request.user).key
        elif request.POST.get("action") == "revoke":
            for token in services.token_list(user=request.user):
                services.token_revoke(user=request.user, token_id=token.pk)
            messages.success(request, "Token revoked: programs using it can no longer sign in.")
            return redirect("accounts:tokens")
    tokens = [{"prefix": t.key[:6], "created": t.created} for t in services.token_list(user=request.user)]
    return render(request, "accounts/tokens.html", {"tokens": tokens, "new_key": new_key})
