"""benchmarks/export.py runs end to end at a tiny size, with its two sizes equal and in either order."""

import pytest

from tests.conftest import benchmark_run


def _run(*args: str):
    return benchmark_run("export.py", *args)


def test_export_benchmark_runs_when_both_sizes_are_equal():
    """Equal sizes once built into the same folder twice and crashed (issue 21)."""
    done = _run("--clips", "2", "--small", "2", "--repeat", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    end_to_end = done.stdout.split("End to end")[1]
    for fmt in ("jsonl", "csv", "hf-parquet", "lhotse", "webdataset"):
        assert f"\n{fmt} " in end_to_end
    assert "RSS 2" in end_to_end and "RSS 1" not in end_to_end


def test_export_benchmark_runs_with_small_larger_than_clips():
    done = _run("--clips", "1", "--small", "3", "--repeat", "1", "--skip-e2e")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 clips of 1 s" in done.stdout


@pytest.mark.parametrize("option", ["--clips", "--small", "--repeat"])
def test_export_benchmark_refuses_sizes_below_one(option):
    done = _run(option, "0")
    assert done.returncode == 2
    assert f"argument {option}: must be at least 1" in done.stderr
