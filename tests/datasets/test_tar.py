"""The fast ustar header writer used by the WebDataset shards and the streamed release tar; release paths."""

import pytest

from apps.datasets.formats.base import check_relpath
from apps.datasets.formats.webdataset import tar_header, tar_header_slow


@pytest.fixture(autouse=True)
def _media_storage():
    """No Django here (see test_formats.py)."""


@pytest.mark.parametrize("name", ["a.flac", "r00000001-g0001.json", "x" * 99, "x" * 100, "ü/é.npy"])
@pytest.mark.parametrize("size", [0, 1, 511, 512, 27_561, 8**11 - 1])
def test_fast_tar_header_equals_tarfiles(name, size):
    assert tar_header(name, size) == tar_header_slow(name, size)


def test_tar_header_refuses_members_too_large_for_ustar():
    with pytest.raises(ValueError, match="overflow"):
        tar_header("a.flac", 8**11)


@pytest.mark.parametrize(
    "relpath, ok",
    [
        ("audio/train/r00000001.flac", True),
        ("features/test/r1-g0001.mfcc.npy", True),
        ("_x/.hidden", True),
        ("a..b/c", True),
        ("", False),
        ("/abs/path", False),
        ("a//b", False),
        ("a/./b", False),
        ("a/../b", False),
        ("..", False),
        ("a/", False),
        (".", False),
        ("a\\b", False),
        ("a\nb", False),
        ("a\rb", False),
        ("a\0b", False),
    ],
)
def test_release_paths_are_plain_relative_paths(relpath, ok):
    if ok:
        assert check_relpath(relpath) == relpath
    else:
        with pytest.raises(ValueError):
            check_relpath(relpath)
