"""Exceptions raised by the testbed, separate so every module can share them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vm import VmResult


class TestbedError(RuntimeError):
    """A testbed step failed (missing setup, build error, broken transport)."""

    __test__ = False  # not a pytest test class despite the name


class VmTimeout(TestbedError):
    """The VM did not power off in time; carries the partial result."""

    def __init__(self, message: str, result: VmResult) -> None:
        super().__init__(message)
        self.result = result
