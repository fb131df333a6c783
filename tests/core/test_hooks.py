"""The hook registry: every declared hook is wired in this installation, and misuse fails loudly."""

import pytest
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from apps.core import hooks
from apps.core.permissions import MANAGERS, project_role_get, project_role_require

# Hooks that answer a question need exactly one handler; the rest are notifications (any number).
ANSWERS = {
    hooks.PROJECT_ROLE,
    hooks.RECORDINGS_USABLE,
    hooks.RECORDING_GET_USABLE,
    hooks.AUDIT_RECORD,
    hooks.RECORDING_PROCESSING,
    hooks.ANNOTATIONS_EXPORT,
}


def test_every_declared_hook_has_a_handler_registered_by_a_higher_app():
    for name in hooks.HOOKS:
        handlers = hooks.hook_handlers(name)
        assert handlers, f"nothing registered for hook {name!r}"
        if name in ANSWERS:
            assert len(handlers) == 1, f"{name!r} answers a question: one handler, not {len(handlers)}"


def test_an_undeclared_hook_fails_at_registration_and_call():
    with pytest.raises(LookupError, match="declare it in apps/core/hooks.py"):
        hooks.hook_register("recording_typo", print)
    with pytest.raises(LookupError):
        hooks.hook_call("recording_typo")
    with pytest.raises(LookupError):
        hooks.hook_one("recording_typo")


def test_hook_one_needs_exactly_one_handler(monkeypatch):
    monkeypatch.setitem(hooks._registry, hooks.RECORDING_PROCESSING, [])
    with pytest.raises(LookupError, match="exactly one handler, 0 registered"):
        hooks.hook_one(hooks.RECORDING_PROCESSING, recording=None)


def test_hook_chain_passes_the_value_through_each_handler_in_order(monkeypatch):
    monkeypatch.setitem(hooks._registry, hooks.RECORDINGS_ANNOTATE, [lambda v: v + ["a"], lambda v: v + ["b"]])
    assert hooks.hook_chain(hooks.RECORDINGS_ANNOTATE, []) == ["a", "b"]


def test_the_role_guard_fails_closed_without_the_accounts_handler(project_with_roles, monkeypatch):
    project, users = project_with_roles
    assert project_role_get(users["manager"], project.id) == "manager"
    monkeypatch.setitem(hooks._registry, hooks.PROJECT_ROLE, [])
    assert project_role_get(users["manager"], project.id) is None
    with pytest.raises(Http404):
        project_role_require(users["manager"], project.id, MANAGERS)


def test_pages_hide_a_project_from_a_role_that_may_not_use_it(project_with_roles):
    project, users = project_with_roles
    with pytest.raises(PermissionDenied):
        project_role_require(users["viewer"], project.id, MANAGERS)
    with pytest.raises(Http404):
        project_role_require(users["viewer"], project.id, MANAGERS, hide=True)
