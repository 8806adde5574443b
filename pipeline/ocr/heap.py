"""The C heap of an OCR process: how glibc's allocator is told to give memory back.

Contract: ``release_free_memory()`` hands the heap pages freed since the last call back to the OS (``malloc_trim``);
``keep_large_blocks_off_the_heap()`` (idempotent, process-wide) makes every allocation of ``MMAP_THRESHOLD`` bytes
or more a mapping of its own, unmapped as soon as it is freed. Both do nothing where the C library is not glibc.

Why the second: glibc starts by mapping blocks of 128 KB or more, but raises that threshold (up to 32 MB) each time
such a block is freed, so after the first page a worker's images and page-sized arrays come from the heap, where
the ones freed in between keep their pages until a trim and the next page's land beside them. Measured on an AMX
CPU (OpenVINO), a Celery worker over 88 images (60 photos, 28 real invoices): peak 703–744 MB with glibc's
default, 667 / 673 / 707 MB with a fixed threshold of 1 / 4 / 16 MB, the same ~605 MB resident at the end. The
price is fresh pages for every large block: 0.07 s more OCR per VAT invoice photo at 4 MB (0.60 s against 0.53 s
median over 30; ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 4 << 20  # 1 MB gave back no more; 16 MB kept ~35 MB more at the peak


def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return None


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")


def release_free_memory() -> None:
    """Hand the heap pages freed by the last inference back to the OS. Without it a worker's resident memory
    ratchets up to its largest page ever (measured: 800 MB resident after 68 images, 210 MB with it)."""
    if _TRIM is not None:
        _TRIM(0)


def keep_large_blocks_off_the_heap() -> None:
    if _MALLOPT is not None:
        _MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD)  # a fixed threshold also stops glibc from raising it


__all__ = ["MMAP_THRESHOLD", "keep_large_blocks_off_the_heap", "release_free_memory"]
