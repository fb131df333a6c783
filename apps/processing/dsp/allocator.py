"""glibc allocator settings for processes that do DSP (Celery worker children, benchmark workers); no Django.

NumPy's arrays of a few MB (a block's frames, spectra and feature rows) sit above glibc's initial mmap
threshold (128 kB), so a fresh process maps and unmaps fresh pages for every one of them and pays a page
fault per 4 kB: measured 88,000 minor faults and 770 audio-s per CPU-s of features in a fresh worker after
warm_up(), against 1,900 faults and 1,200-1,400 with these settings (benchmarks/features.py, section 5).
glibc raises the threshold by itself only after freeing such a block, and trims the heap's top back to the
kernel whenever 2x that is free. Fixing both from the start keeps those arrays in the heap, reused; a
worker keeps at most ``TRIM_THRESHOLD`` of free heap beyond what it uses. Environment variables
(``MALLOC_MMAP_THRESHOLD_``) would need to be set before the worker's main process starts; ``mallopt`` in
each child works however the worker was started. No-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 64 << 20


def allocator_tune() -> bool:
    """Set the mmap and trim thresholds for this process; True if glibc took them."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
