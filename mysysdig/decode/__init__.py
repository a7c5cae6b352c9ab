"""Decoders of the record file; today only the text format (`text`), later a binary one."""

from mysysdig.decode.escapes import decode_user_string, escape_bytes, escape_user_string, unescape_bytes
from mysysdig.decode.text import ErrorCollector, LineError, parse_line, parse_lines, parse_text, split_lines

__all__ = [
    "ErrorCollector",
    "LineError",
    "decode_user_string",
    "escape_bytes",
    "escape_user_string",
    "parse_line",
    "parse_lines",
    "parse_text",
    "split_lines",
    "unescape_bytes",
]
