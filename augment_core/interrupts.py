"""Ctrl-C and SIGTERM as exceptions that a run cannot lose.

Python runs a signal handler between two bytecodes of the main thread, wherever that is.
When it is inside a finalizer (a generator closed by the garbage collector, a ``__del__``),
the exception the handler raises is printed as "Exception ignored in ..." and dropped: the
run went on and replaced its output as if nothing had happened (seen once in a few dozen
SIGTERMs). So the handler also notes the signal, and each point that commits an output
(:mod:`augment_core.data.io`) calls :func:`raise_noted` first: a run that was asked to
stop never replaces its output, wherever the signal landed.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Iterator

_noted: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup runs."""


def _interrupt(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _noted
    _noted = signum
    raise _interrupt(signum)


def _unraisable(previous: Callable[[Any], None]) -> Callable[[Any], None]:
    """Python's hook for an exception it drops, quiet for our interrupts: one that landed in
    a finalizer is noted and raised again, so printing it would only put a traceback before
    the run's one line."""
    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt) or _noted is None:
            previous(unraisable)

    return hook


def raise_noted() -> None:
    """Raise again the interrupt of a signal that arrived during the block of
    :func:`handled` (a no-op when none did, and outside such a block)."""
    if _noted is not None:
        raise _interrupt(_noted)


@contextmanager
def handled() -> Iterator[None]:
    """SIGTERM raised as :class:`Terminated` and Ctrl-C as ``KeyboardInterrupt`` (unless
    SIGINT is ignored, as in a background job), both noted for :func:`raise_noted`, and
    neither printed where Python drops it, for the block; the previous handlers and no noted
    signal afterwards. Main thread only."""
    global _noted
    _noted = None
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_signal)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, _on_signal)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(previous_hook)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = previous_hook
        _noted = None
