"""Frontend source rules that need no browser: run with Node (Debian's nodejs, as `make frontend` uses)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UTIL = ROOT / "frontend" / "src" / "util.js"


def _node(script: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Debian package nodejs; .ci/run installs it)")
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_mixing_in_a_method_name_twice_fails_loudly_instead_of_overwriting():
    out = _node(f"""
import {{ mixInto }} from {str(UTIL.as_uri())!r};
class Page {{ start() {{}} }}
class Wiring {{ wire() {{ return 'wiring'; }} }}
class Editing {{ wire() {{ return 'editing'; }} }}
class Playback {{ start() {{}} }}
const tries = [[Wiring, Editing], [Playback]];
for (const parts of tries) {{
  class Target extends Page {{}}
  Object.defineProperty(Target, 'name', {{ value: 'Page' }});
  Target.prototype.start = Page.prototype.start;
  try {{ mixInto(Target, parts); console.log('mixed'); }} catch (e) {{ console.log(e.message); }}
}}
class Ok {{}}
mixInto(Ok, [Wiring]);
console.log(new Ok().wire());
""")
    assert out.splitlines() == [
        "Editing.wire would overwrite Wiring.wire",
        "Playback.start would overwrite Page.start",
        "wiring",
    ]
