"""Source scan: recordings are read only through the consent selector outside catalog and consent."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = ("apps/catalog/", "apps/consent/")
# The manager and its back doors: any of these outside the two apps bypasses consent.
BYPASS = re.compile(r"\bRecording\s*\.\s*(objects|_default_manager|_base_manager)\b")


def scan(root: Path) -> list[str]:
    found = []
    for path in sorted(list((root / "apps").rglob("*.py")) + list((root / "config").rglob("*.py"))):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(ALLOWED):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BYPASS.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_recording_manager_used_only_in_catalog_and_consent():
    offenders = scan(ROOT)
    assert not offenders, (
        "Read recordings through apps.consent.selectors.recordings_usable / recording_get_usable, "
        "not the Recording manager:\n" + "\n".join(offenders)
    )


def test_scan_catches_a_bypass(tmp_path):
    (tmp_path / "apps" / "review").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "apps" / "review" / "leaky.py").write_text("rows = Recording.objects.filter(project_id=1)\n")
    (tmp_path / "apps" / "catalog").mkdir()
    (tmp_path / "apps" / "catalog" / "fine.py").write_text("rows = Recording.objects.all()\n")
    assert scan(tmp_path) == ["apps/review/leaky.py:1: rows = Recording.objects.filter(project_id=1)"]
