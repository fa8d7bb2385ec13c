"""A process's resident memory, and handing freed heap back to the operating system.

Python's and glibc's allocators keep freed memory for reuse: after a class has left, a server or worker that
grew with its sessions' histories, figures and models stays that size unless the free heap is released
(``malloc_trim``). Both functions are cheap enough to call once per finished job or ended session.
"""

from __future__ import annotations

import ctypes
import gc
import os


def rss_mb() -> float:
    """This process's resident memory in MB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return 0.0


def give_back() -> bool:
    """Collect garbage, then return free heap to the OS (glibc's ``malloc_trim``); False where there is none."""
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): collecting is all there is
        return False
    return bool(libc.malloc_trim(0))
