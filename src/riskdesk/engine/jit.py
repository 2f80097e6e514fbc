"""Optional JIT: numba when installed, else plain Python (correct, only slow on big books)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:  # pragma: no cover - depends on the environment
    import numba
except ImportError:  # pragma: no cover
    numba = None

HAVE_NUMBA = numba is not None


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile a scalar or loop kernel with numba (cached on disk), or leave it as Python."""
    if numba is None:  # pragma: no cover
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


def inline_kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``kernel``, inlined into the kernels that call it (numba IR inlining): a call of a
    jitted helper that takes arrays passes and reference-counts each array; in a loop over
    millions of holdings that call costs more than the arithmetic it does."""
    if numba is None:  # pragma: no cover
        return fn
    return numba.njit(cache=True, nogil=True, inline="always")(fn)


def parallel_kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``kernel`` with ``prange`` loops spread over threads."""
    if numba is None:  # pragma: no cover
        return fn
    return numba.njit(cache=True, nogil=True, parallel=True)(fn)


prange = numba.prange if numba is not None else range


def thread_count() -> int:
    """Threads a parallel kernel will use (1 without numba)."""
    return numba.get_num_threads() if numba is not None else 1
