"""The role matrix (issue 13): docs/roles.md's table, enforced over EVERY URL pattern for every role.

The table in docs/roles.md is the specification: one row per route template (as the resolver spells it),
one column per role, each cell ``yes`` (served), ``no`` (refused: 401, 403, 404 or a redirect to sign-in)
or ``own`` (served only for a recording in the person's own work: their assignments and annotations for an
annotator, annotations handed in for review for a reviewer). A route missing from the table fails the test,
so a new endpoint cannot ship without a decision. Every route is requested with GET (405 means the route
has no GET: nothing is served, so it never counts against a cell) for a manager, reviewer, annotator,
viewer, exporter, a signed-in outsider and an anonymous visitor, on a recording in the annotator's and
reviewer's work and on one that is not.
"""

import os
import re
from pathlib import Path

import pytest
from django.urls import get_resolver

from tests.test_leak import K_ID, _patterns, _process, _recording, leak_world  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

ROLES = ("manager", "reviewer", "annotator", "viewer", "exporter", "outsider", "anonymous")
X_ID = 900004  # a usable recording in nobody's work: no assignment, no annotation
DOC = Path(__file__).resolve().parent.parent / "docs" / "roles.md"
SKIP = re.compile(r"^(admin/|static/|media/)")


def matrix() -> dict[str, dict[str, str]]:
    """docs/roles.md's table: route template → {role: yes|no|own}."""
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        route = re.match(r"`([^`]*)`", cells[0])
        if len(cells) == len(ROLES) + 1 and route:
            rows[route.group(1)] = dict(zip(ROLES, cells[1:]))
    return rows


def _expand(route: str, params: dict) -> list[tuple[str, dict]]:
    """Concrete paths (with the parameter values used) for a route template."""
    names = re.findall(r"<(?:[^>:]+:)?([^>]+)>", route)
    combos = [{}]
    for name in names:
        combos = [{**c, name: v} for c in combos for v in params[name]]
    out = []
    for combo in combos:
        path = re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda m, c=combo: str(c[m.group(1)]), route)
        out.append(("/" + path, combo))
    return out


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code == 302 and "/accounts/login/" in response.get("Location", "")


@pytest.fixture
def role_world(leak_world, make_user, django_capture_on_commit_callbacks, api, settings, tmp_path):
    from apps.accounts.models import Membership
    from apps.accounts.services import token_create
    from apps.catalog.models import ImportBatch, Speaker
    from apps.catalog.services import import_source_create

    world = leak_world
    project, users = world["project"], dict(world["users"])
    x, _ = _recording(project, Speaker.objects.get(code="kept-spk"), X_ID, 6)
    _process([x], django_capture_on_commit_callbacks)
    users["exporter"] = users.get("exporter") or make_user("exporter-x")
    Membership.objects.get_or_create(user=users["exporter"], project=project, defaults={"role": "exporter"})
    users["outsider"] = make_user("outsider")
    clients = {"anonymous": api()}
    for role in ROLES[:-1]:
        clients[role] = api()
        clients[role].force_login(users[role])  # a session: pages and the API alike
    settings.EARMARK_IMPORT_ROOTS = [str(tmp_path)]
    (tmp_path / "drop").mkdir()
    source = import_source_create(name="drop", kind="folder", path=str(tmp_path / "drop"), projects=[project])
    batch = ImportBatch.objects.create(project=project, source="zip", status="done", created_by=users["manager"])
    params = {
        **world["params"],
        "recording_id": [K_ID, X_ID],
        "import_id": [batch.id],
        "source_id": [source.id],
        "token_id": [token_create(user=users["manager"]).id],
        "kind": ["mfcc"],
        "fmt": ["jsonl"],
    }
    return {"clients": clients, "params": params, "query": world["query"]}


def test_every_route_follows_the_role_matrix_in_docs_roles_md(role_world):
    table = matrix()
    assert table or os.environ.get("ROLES_DUMP"), "docs/roles.md has no role table"
    wrong, missing, observed = [], [], []
    for route, _ in _patterns(get_resolver()):
        if SKIP.match(route):
            continue
        if route not in table:
            missing.append(route)
            if not os.environ.get("ROLES_DUMP"):
                continue
        seen = {role: set() for role in ROLES}
        for path, combo in _expand(route, role_world["params"]):
            in_work = combo.get("recording_id", K_ID) != X_ID
            for role, client in role_world["clients"].items():
                response = client.get(path, role_world["query"])
                for closer in getattr(response, "_resource_closers", []):
                    closer()
                seen[role].add(
                    ("405" if response.status_code == 405 else "no" if _refused(response) else "yes")
                    + ("" if in_work else "x")
                )
                if response.status_code == 405 or route not in table:
                    continue
                cell = table[route][role]
                expect_served = cell == "yes" or (cell == "own" and in_work)
                if expect_served == _refused(response):
                    wrong.append(f"{role:9} GET {path} → {response.status_code}; docs/roles.md says {cell}")
        observed.append(f"| `{route}` | " + " | ".join(",".join(sorted(seen[r])) for r in ROLES) + " |")
    if os.environ.get("ROLES_DUMP"):  # ROLES_DUMP=1 pytest -s tests/test_roles.py: what each role got, per route
        print("\n".join(observed))
    assert not missing, "routes missing from docs/roles.md:\n" + "\n".join(missing)
    assert not wrong, "\n".join(wrong)
