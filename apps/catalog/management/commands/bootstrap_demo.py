"""Create the admin user (password printed once) and a demo project with generated recordings."""

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.catalog import services
from apps.catalog.demo import demo_clip
from apps.catalog.models import Project


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
        # The demo speakers consented to every purpose, so their clips are processed and usable at once
        # (without consent on record, the default policy quarantines a speaker's audio).
        from apps.consent.purposes import Purpose
        from apps.consent.services import consent_form_create, consent_record, speaker_create

        form = consent_form_create(title="Demo consent", text="Generated audio; no real person.",
                                   purposes=list(Purpose), language_tag="en", project=project)
        for code in ("spk1", "spk2"):
            speaker = speaker_create(project=project, code=code, actor=admin)
            consent_record(speaker=speaker, actor=admin, purposes=list(Purpose), form=form)
        sidecar = {name: {"speaker": f"spk{i % 2 + 1}", "language": "en"} for i, (name, _) in enumerate(files)}
        from apps.annotation.services import labels_set

        labels_set(project_id=project.id, transcript=True,
                   region_labels=[{"name": "speech", "color": "#2563eb", "hotkey": "1"},
                                  {"name": "laughter", "color": "#d97706", "hotkey": "2"},
                                  {"name": "noise", "color": "#64748b", "hotkey": "3"}],
                   clip_labels=[{"name": "clean", "color": "#16a34a", "hotkey": "7"},
                                {"name": "noisy", "color": "#dc2626", "hotkey": "8"}],
                   region_fields=[{"name": "overlapping speech", "type": "checkbox"}])
        results = services.recordings_ingest_many(project=project, files=files, created_by=admin, sidecar=sidecar)
        self.stdout.write(f"Demo project seeded with {sum(r.status == 'accepted' for r in results)} recordings.")
