"""Create the admin user, an annotator and a reviewer (passwords printed once) and a demo project."""

import io
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.accounts.models import Role
from apps.accounts.services import membership_set
from apps.catalog import services
from apps.catalog.demo import demo_clip
from apps.catalog.models import Project


class Command(BaseCommand):
    help = ("First-run setup for the embedded default: an admin, an annotator and a reviewer, and a demo project. "
            "Safe to repeat.")

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
        project = services.project_create(name="Demo", created_by=admin,
                                          description="Generated speech-like clips to try Earmark with.")
        # Two more people, so labelling and review (nobody reviews their own work) can be tried at once.
        for username, role in (("annotator", Role.ANNOTATOR), ("reviewer", Role.REVIEWER)):
            user = User.objects.filter(username=username).first()
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(username, password=password)
                created.append((username, password, f"{role.label.lower()} of Demo"))
            membership_set(project=project, user=user, role=role)
        self._print(created)
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

    def _print(self, created):
        if not created:
            return
        lines = "\n".join(f"  {name:<10} password: {password}   ({what})" for name, password, what in created)
        self.stdout.write(self.style.WARNING(
            f"\n  Users created (passwords shown once; change one with `manage.py changepassword NAME`):\n{lines}\n"))
