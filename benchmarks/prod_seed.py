"""Seed a production-shape database (scripts/prod_local.sh) for its tests and benchmarks/load.py.

Run inside the shape's environment: ``scripts/prod_local.sh py benchmarks/prod_seed.py --recordings 40``.
Creates a staff manager, annotators and reviewers with API tokens, a project whose speakers consented to every
purpose (the demo seed's hook), and ``--recordings`` generated clips ingested through the real ingest service
(stored in the bucket, processing jobs queued to the nodes). ``--accept`` gives each clip an accepted
annotation with one transcribed region, so a release can be built from them once they are processed.
Prints one JSON object: project id, tokens, recording ids.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from apps.accounts.services import membership_set, token_create  # noqa: E402
from apps.annotation.models import Annotation, Region  # noqa: E402
from apps.catalog import services as catalog  # noqa: E402
from apps.catalog.demo import demo_clip  # noqa: E402 - speech-like bursts: they pass audio QA
from apps.catalog.models import Project  # noqa: E402
from apps.core.hooks import DEMO_PROJECT_SEED, hook_call  # noqa: E402
from apps.core.permissions import Role  # noqa: E402


def user_with_token(username: str, *, staff: bool = False):
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": staff, "is_superuser": staff})
    user.set_unusable_password()  # API tokens only (and no slow password hashing for a hundred accounts)
    user.save()
    return user, token_create(user=user, name="load", days=30).key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="Load")
    parser.add_argument("--recordings", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0, help="first clip's seed (another run: other bytes)")
    parser.add_argument("--people", type=int, default=4, help="annotators and reviewers, each")
    parser.add_argument("--accept", action="store_true", help="accepted annotations, for a release")
    args = parser.parse_args()

    manager, manager_token = user_with_token("manager", staff=True)
    project = Project.objects.filter(name=args.project).first()
    if project is None:
        project = catalog.project_create(name=args.project, created_by=manager)
        hook_call(DEMO_PROJECT_SEED, project=project, actor=manager, speaker_codes=[f"spk{i}" for i in range(8)])
    tokens = {"manager": manager_token, "annotators": [], "reviewers": []}
    annotators = []
    for i in range(args.people):
        for role, key in ((Role.ANNOTATOR, "annotators"), (Role.REVIEWER, "reviewers")):
            user, token = user_with_token(f"{role.value}{i}")
            membership_set(project_id=project.id, user=user, role=role)
            tokens[key].append(token)
            if role == Role.ANNOTATOR:
                annotators.append(user)
    files = [
        (f"clip-{args.seed + i}.wav", io.BytesIO(demo_clip(args.seed + i, seconds=args.seconds)))
        for i in range(args.recordings)
    ]
    sidecar = {name: {"speaker": f"spk{i % 8}", "language": "en"} for i, (name, _) in enumerate(files)}
    results = (
        catalog.recordings_ingest_many(project=project, files=files, created_by=manager, sidecar=sidecar)
        if files
        else []
    )
    ids = [r.recording_id for r in results if r.status == "accepted"]
    if args.accept:
        for n, rid in enumerate(ids):
            ann = Annotation.objects.create(
                project=project, recording_id=rid, annotator=annotators[n % len(annotators)], status="accepted"
            )
            Region.objects.create(
                annotation=ann, uid=f"seed-{rid}", start=Decimal("0.2"), end=Decimal("0.9"), text=f"words {n}"
            )
    print(json.dumps({"project_id": project.id, "tokens": tokens, "recording_ids": ids}))


if __name__ == "__main__":
    main()
