"""The DSP core stays pure: import-linter's contract (.importlinter) runs with the suite, not only in `make lint`."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_dsp_imports_no_django_celery_or_apps(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0
