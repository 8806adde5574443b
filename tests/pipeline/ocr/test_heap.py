"""pipeline.ocr.heap: freed blocks of MMAP_THRESHOLD or more go back to the OS at once (glibc only)."""

import subprocess
import sys
import textwrap

import pytest

from pipeline.ocr import heap

# A process frees a 16 MB block (glibc then raises its mmap threshold to 16 MB), allocates fourteen 6 MB blocks and
# frees all but the last (which keeps the heap's top in use, so nothing is trimmed on the way): how much of the
# 84 MB is still resident?
_SCRIPT = textwrap.dedent("""
    import ctypes, sys
    from pipeline.ocr import heap
    if sys.argv[1] == "fixed":
        heap.keep_large_blocks_off_the_heap()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    def rss_mb():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096 / 2**20
    def touched(size):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        return block
    libc.free(touched(16 << 20))
    before = rss_mb()
    blocks = [touched(6 << 20) for _ in range(14)]
    for block in blocks[:-1]:
        libc.free(block)
    print(rss_mb() - before)
""")


def _kept_mb(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(heap._MALLOPT is None or not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_large_blocks_are_returned_at_once_with_the_fixed_threshold():
    assert _kept_mb("default") > 60  # the 6 MB blocks came from the heap and stay resident
    assert _kept_mb("fixed") < 10


def test_the_calls_are_harmless_when_repeated():
    heap.keep_large_blocks_off_the_heap()
    heap.keep_large_blocks_off_the_heap()
    heap.release_free_memory()
