"""One direction of dependencies, checked with the suite (not only in `make lint`).

- import-linter's contracts (.importlinter): the DSP core stays pure, and the apps form layers
  (core → accounts → catalog → consent → processing → annotation → review → … → datasets → events), each
  importing only the ones below it;
- no module imports ANOTHER app inside a function body, where a module's header would not show the
  dependency (a lower app tells a higher one through apps/core/hooks.py instead).
"""

import ast
import configparser
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0


def test_layers_contract_covers_every_app():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]
    assert layers["type"] == "layers"
    listed = {line.strip().strip("()") for line in layers["layers"].splitlines() if line.strip()}
    apps = {f"apps.{p.parent.name}" for p in (ROOT / "apps").glob("*/apps.py")}
    assert apps - listed == set(), "every app must sit in a layer of .importlinter's layers contract"


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "apps" else None


def function_level_cross_app_imports(source: str, own_app: str) -> list[tuple[int, str]]:
    """(line, module) of every import of another app placed inside a function body of ``source``."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                # `from apps.x.y import z` names app x; `from apps import x, y` names each of x, y.
                apps = [_app_of(child.module)] if child.module != "apps" else [a.name for a in child.names]
                found.extend((child.lineno, child.module) for app in apps if app not in (None, own_app))
            elif in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names if _app_of(a.name) not in (None, own_app))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(source), False)
    return found


def test_the_counter_finds_a_function_level_cross_app_import():
    source = (
        "from apps.catalog.models import Project\n"  # module level: fine
        "def f():\n"
        "    from apps.consent.selectors import recordings_usable\n"  # another app, in a function: counted
        "    from apps.catalog import services\n"  # its own app: not counted
        "    import apps.review.models\n"  # counted
        "class C:\n"
        "    def m(self):\n"
        "        from apps import datasets\n"  # counted
    )
    assert [line for line, _ in function_level_cross_app_imports(source, "catalog")] == [3, 5, 8]


def test_no_app_imports_another_app_inside_a_function():
    found = []
    for path in sorted((ROOT / "apps").rglob("*.py")):
        app = path.relative_to(ROOT / "apps").parts[0]
        for line, module in function_level_cross_app_imports(path.read_text(), app):
            found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert found == [], "use a module-level import (downwards) or a hook in apps/core/hooks.py (upwards):\n" + (
        "\n".join(found)
    )
