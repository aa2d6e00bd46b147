"""Shared variables: broadcasts (read-only values shipped to tasks) and accumulators (values
tasks add to and only the driver reads), with PySpark's names.

A broadcast pickles its value once, when it is created, so that an unpicklable value fails at
``sc.broadcast`` rather than in some later job, and so that every task carries the same bytes.
An accumulator pickled into a task arrives as a fresh, write-only copy: its ``add`` records
updates on the running task's context, and the driver folds each successful task's updates
into the original with ``merge_accumulator_updates``; a failed attempt's updates are dropped.
"""

from __future__ import annotations

import itertools
import pickle
import threading
import weakref
from typing import Any, Generic, TypeVar, cast

import cloudpickle

from . import taskcontext

T = TypeVar("T")

_broadcast_ids = itertools.count()
_accumulator_ids = itertools.count()

# Driver-side accumulators by id. Weak, so that one the program dropped is not kept alive
# (and its late updates are simply discarded).
_accumulators: weakref.WeakValueDictionary[int, Accumulator[Any]] = weakref.WeakValueDictionary()
_accumulators_lock = threading.Lock()


class Broadcast(Generic[T]):
    """A read-only value for tasks; ``sc.broadcast(value)`` makes one."""

    def __init__(self, value: T) -> None:
        self.bid = next(_broadcast_ids)
        self._payload: bytes | None = cloudpickle.dumps(value)
        self._value: T | None = value
        self._loaded = True
        self._destroyed = False

    @property
    def value(self) -> T:
        if self._destroyed:
            raise RuntimeError(f"Attempted to use Broadcast({self.bid}) after it was destroyed")
        if not self._loaded:  # in a task: unpickle on first use only
            assert self._payload is not None
            self._value = pickle.loads(self._payload)
            self._loaded = True
        return cast(T, self._value)

    def unpersist(self, blocking: bool = False) -> None:
        """Nothing to free: the value travels inside the tasks that use it."""

    def destroy(self, blocking: bool = False) -> None:
        """Free the value for good; using the broadcast afterwards is an error."""
        self._destroyed = True
        self._payload = None
        self._value = None

    def __reduce__(self) -> tuple[Any, ...]:
        if self._destroyed or self._payload is None:
            raise RuntimeError(f"Attempted to use Broadcast({self.bid}) after it was destroyed")
        return (_restore_broadcast, (self.bid, self._payload))

    def __repr__(self) -> str:
        return f"Broadcast({self.bid})"


def _restore_broadcast(bid: int, payload: bytes) -> Broadcast[Any]:
    restored: Broadcast[Any] = Broadcast.__new__(Broadcast)
    restored.bid = bid
    restored._payload = payload
    restored._value = None
    restored._loaded = False
    restored._destroyed = False
    return restored


class AccumulatorParam(Generic[T]):
    """How to start (``zero``) and add to (``addInPlace``) an accumulator's value."""

    def zero(self, value: T) -> T:
        raise NotImplementedError

    def addInPlace(self, value1: T, value2: T) -> T:  # noqa: N802
        raise NotImplementedError


class AddingAccumulatorParam(AccumulatorParam[T]):
    """``+=`` from a fixed zero: the built-in parameter for numbers."""

    def __init__(self, zero_value: T) -> None:
        self.zero_value = zero_value

    def zero(self, value: T) -> T:
        return self.zero_value

    def addInPlace(self, value1: T, value2: T) -> T:  # noqa: N802
        value1 += value2  # type: ignore[operator]  # T is whatever supports +=
        return value1


INT_ACCUMULATOR_PARAM: AccumulatorParam[int] = AddingAccumulatorParam(0)
FLOAT_ACCUMULATOR_PARAM: AccumulatorParam[float] = AddingAccumulatorParam(0.0)
COMPLEX_ACCUMULATOR_PARAM: AccumulatorParam[complex] = AddingAccumulatorParam(0.0j)


def default_param(value: Any) -> AccumulatorParam[Any]:
    """The built-in parameter for ``value``'s type, as ``sc.accumulator`` picks it."""
    for kind, param in (
        (int, INT_ACCUMULATOR_PARAM),
        (float, FLOAT_ACCUMULATOR_PARAM),
        (complex, COMPLEX_ACCUMULATOR_PARAM),
    ):
        if isinstance(value, kind):
            return param
    raise TypeError(f"No default accumulator param for type {type(value)}")


class Accumulator(Generic[T]):
    """A value tasks can only add to; ``sc.accumulator(value)`` makes one."""

    def __init__(self, aid: int, value: T, accum_param: AccumulatorParam[T]) -> None:
        self.aid = aid
        self.accum_param = accum_param
        self._value = value
        self._in_task = False
        with _accumulators_lock:
            _accumulators[aid] = self

    @property
    def value(self) -> T:
        """The total so far; readable on the driver only."""
        self._check_driver()
        return self._value

    @value.setter
    def value(self, value: T) -> None:
        self._check_driver()
        self._value = value

    def _check_driver(self) -> None:
        if self._in_task:
            raise RuntimeError("Accumulator.value cannot be accessed inside tasks")

    def add(self, term: T) -> None:
        context = taskcontext.current() if self._in_task else None
        if context is None:
            with _accumulators_lock:
                self._value = self.accum_param.addInPlace(self._value, term)
            return
        if self.aid not in context.accumulator_updates:
            # Start from a zero of our own: addInPlace may mutate its first argument, and
            # that must not be an object the user's code still holds.
            term = self.accum_param.addInPlace(self.accum_param.zero(self._value), term)
        context.add_accumulator(self.aid, term, self.accum_param.addInPlace)

    def __iadd__(self, term: T) -> Accumulator[T]:
        self.add(term)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        zero = self.accum_param.zero(self._value)
        return (_restore_accumulator, (self.aid, zero, self.accum_param))

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return f"Accumulator<id={self.aid}, value={self._value}>"


def _restore_accumulator(aid: int, zero: Any, param: AccumulatorParam[Any]) -> Accumulator[Any]:
    restored: Accumulator[Any] = Accumulator.__new__(Accumulator)
    restored.aid = aid
    restored.accum_param = param
    restored._value = zero
    restored._in_task = True
    return restored


def new_accumulator(value: T, accum_param: AccumulatorParam[T] | None = None) -> Accumulator[T]:
    param = accum_param if accum_param is not None else default_param(value)
    return Accumulator(next(_accumulator_ids), value, param)


def merge_accumulator_updates(updates: dict[int, Any]) -> None:
    """Fold one successful task's accumulator updates into the driver's accumulators."""
    with _accumulators_lock:
        for aid, update in updates.items():
            accumulator = _accumulators.get(aid)
            if accumulator is not None:
                accumulator._value = accumulator.accum_param.addInPlace(accumulator._value, update)
