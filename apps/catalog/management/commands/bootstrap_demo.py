"""Create the admin user, an annotator and a reviewer (passwords printed once) and a demo project."""

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.accounts.services import membership_set
from apps.catalog import services
from apps.catalog.demo import demo_clip
from apps.catalog.models import Project
from apps.core.hooks import DEMO_PROJECT_SEED, hook_call
from apps.core.permissions import Role


class Command(BaseCommand):
    help = (
        "First-run setup for the embedded default: an admin, an annotator and a reviewer, and a demo project. "
        "Safe to repeat."
    )

    def handle(self, **_):
        User = get_user_model()
        created = []
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@localhost", password)
            created.append(("admin", password, "staff; manager of every project"))
        if Project.objects.filter(name="Demo").exists():
            self._print(created)
            return
        admin = User.objects.filter(is_superuser=True).order_by("id").first()
        project = services.project_create(
            name="Demo", created_by=admin, description="Generated speech-like clips to try Earmark with."
        )
        # Two more people, so labelling and review (nobody reviews their own work) can be tried at once.
        for username, role in (("annotator", Role.ANNOTATOR), ("reviewer", Role.REVIEWER)):
            user = User.objects.filter(username=username).first()
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(username, password=password)
                created.append((username, password, f"{role.label.lower()} of Demo"))
            membership_set(project_id=project.id, user=user, role=role)
        self._print(created)
        files = [
            (f"demo-{i + 1}.wav", io.BytesIO(demo_clip(i, seconds=4 + 2 * i, channels=2 if i == 3 else 1)))
            for i in range(5)
        ]
        # Higher apps seed their part (consent: speakers who consented to every purpose, so the clips are
        # processed and usable at once; annotation: the label schema) before the clips arrive.
        hook_call(DEMO_PROJECT_SEED, project=project, actor=admin, speaker_codes=("spk1", "spk2"))
        sidecar = {name: {"speaker": f"spk{i % 2 + 1}", "language": "en"} for i, (name, _) in enumerate(files)}
        results = services.recordings_ingest_many(project=project, files=files, created_by=admin, sidecar=sidecar)
        self.stdout.write(f"Demo project seeded with {sum(r.status == 'accepted' for r in results)} recordings.")

    def _print(self, created):
        if not created:
            return
        lines = "\n".join(f"  {name:<10} password: {password}   ({what})" for name, password, what in created)
        self.stdout.write(
            self.style.WARNING(
                f"\n  Users created (passwords shown once; change one with `manage.py changepassword NAME`):\n{lines}\n"
            )
        )
