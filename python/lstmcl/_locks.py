"""The lock that lets Python threads share a model as far as the C API's
threading rules allow (lstmcl.h, "Threads"): one context and its models
are used by one thread at a time, except that distinct sessions of a model
run from distinct threads at once while the model is not being created,
destroyed or given a new session."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, TypeVar

_T = TypeVar("_T", bound="Closing")


class SharedLock:
    """Shared holders (session calls) run together; an exclusive holder
    (a forward pass, creating or destroying a session or the model) runs
    alone. A waiting exclusive holder keeps new shared holders out, so a
    stream of session calls cannot starve a forward pass. Waiting releases
    the GIL."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if self._shared == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive or self._shared:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class Closing:
    """What Model, Session and Graph share: `with obj:` closes the object at
    the end of the block, and an object collected unclosed closes itself."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
