"""Opening a record file (or stdin) the way the parser needs it.

The file is read as Latin-1 text with "\\n" as the only line end. Latin-1 maps every byte to one
character and can never fail, so a corrupt byte becomes a bad line that the parser reports instead of a
UnicodeDecodeError that would end the whole run; and a stray "\\r" must not split a line, because the
format never writes one raw.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click

STDIN = "-"
ENCODING = "latin-1"


def display_name(path: str | os.PathLike[str]) -> str:
    """Name to use in messages: stdin has no file name of its own."""
    return "<stdin>" if str(path) == STDIN else os.fspath(path)


@contextmanager
def open_source(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Open a record file, or stdin for "-", as a line iterator suitable for `parse_lines`."""
    if str(path) == STDIN:
        # click's stdin stream is also what click.testing.CliRunner replaces, so tests can feed input.
        stream = io.TextIOWrapper(click.get_binary_stream("stdin"), encoding=ENCODING, newline="\n")
        try:
            yield stream
        finally:
            stream.detach()
        return
    with open(path, encoding=ENCODING, newline="\n") as f:
        yield f
