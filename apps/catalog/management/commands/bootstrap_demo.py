"""Create the admin user (password printed once) and a demo project with generated recordings."""

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.catalog import services
from apps.catalog.demo import demo_clip
from apps.catalog.models import Project
from apps.core.hooks import DEMO_PROJECT_SEED, hook_call


class Command(BaseCommand):
    help = "First-run setup for the embedded default: an admin user and a demo project. Safe to repeat."

    def handle(self, **_):
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@localhost", password)
            self.stdout.write(self.style.WARNING(
                f"\n  Admin user created — username: admin  password: {password}\n"
                "  (shown once; change it with `manage.py changepassword admin`)\n"))
        if Project.objects.filter(name="Demo").exists():
            return
        admin = User.objects.filter(is_superuser=True).order_by("id").first()
        project = services.project_create(name="Demo", created_by=admin,
                                          description="Generated speech-like clips to try Earmark with.")
        files = [(f"demo-{i + 1}.wav", io.BytesIO(demo_clip(i, seconds=4 + 2 * i, channels=2 if i == 3 else 1)))
                 for i in range(5)]
        # Higher apps seed their part (consent: speakers who consented to every purpose, so the clips are
        # processed and usable at once; annotation: the label schema) before the clips arrive.
        hook_call(DEMO_PROJECT_SEED, project=project, actor=admin, speaker_codes=("spk1", "spk2"))
        sidecar = {name: {"speaker": f"spk{i % 2 + 1}", "language": "en"} for i, (name, _) in enumerate(files)}
        results = services.recordings_ingest_many(project=project, files=files, created_by=admin, sidecar=sidecar)
        self.stdout.write(f"Demo project seeded with {sum(r.status == 'accepted' for r in results)} recordings.")
