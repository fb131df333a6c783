"""earmark-client builds into a wheel that pip installs, with its type marker and the `earmark` console script."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_builds_installs_and_runs_the_console_script(tmp_path):
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", str(ROOT / "client"), "-w", str(tmp_path)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("earmark_client-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "earmark_client/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "earmark = earmark_client.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: requests==2.34.2" in metadata and "Requires-Dist: tqdm==4.70.1" in metadata

    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    shown = subprocess.run([str(site / "bin" / "earmark"), "--help"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0 and "pull" in shown.stdout and "sync" in shown.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import earmark_client; print(earmark_client.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert where.stdout.startswith(str(site)), where.stderr
    missing = subprocess.run(
        [str(site / "bin" / "earmark"), "releases", "1"], env={**env, "EARMARK_URL": ""}, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Say which server" in missing.stderr and "Traceback" not in missing.stderr
