"""Sign-in events from Django's auth and django-axes, passed on to the audit log through the LOGIN_EVENT hook.

Django's auth signals are the only place a failed sign-in is announced (the login form and the admin call
``authenticate`` themselves), so accounts listens to them here; the audit write itself crosses layers
through ``apps.core.hooks``, never a signal of ours.
"""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed

from apps.accounts.services import login_event_record


def _via(request) -> str:
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "page"


def _user_id(username) -> int | None:
    if not username:
        return None
    return get_user_model().objects.filter(username=username).values_list("id", flat=True).first()


def on_logged_in(sender, request, user, **kwargs):
    login_event_record(event="login_succeeded", user_id=user.pk, via=_via(request))


def on_login_failed(sender, credentials, request=None, **kwargs):
    if getattr(request, "axes_locked_out", False):
        return  # the lockout is recorded once, as locked_out
    login_event_record(event="login_failed", user_id=_user_id(credentials.get("username")), via=_via(request))


def on_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    login_event_record(event="locked_out", user_id=_user_id(username), via=_via(request))


def receivers_connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="earmark-login-ok")
    user_login_failed.connect(on_login_failed, dispatch_uid="earmark-login-failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="earmark-locked-out")
