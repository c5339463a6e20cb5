"""Secrets kept out of everything printed. Code that learns a secret registers it with `secret`;
a filter on the log handlers rewrites every record, and `text` cleans the final error line.

The filter sits on the handlers, not on loggers: a logger's filter never sees the records its
child loggers propagate (httpcore.http11 logs under httpcore), a handler's sees them all."""

from __future__ import annotations

import logging
import sys
import traceback
from urllib.parse import quote, quote_plus

MASK = "***"
_secrets: set[str] = set()


def _forms(value: str) -> set[str]:
    """The ways a secret shows up in messages: as is, stripped, escaped by a repr (httpx shows
    a bad header as b'...\\n'), percent-encoded in a URL."""
    return {
        form
        for v in (value, value.strip())
        for form in (
            v,
            repr(v)[1:-1],
            repr(v.encode())[2:-1],
            v.encode("unicode_escape").decode("ascii"),
            quote(v, safe=""),
            quote_plus(v),
        )
    }


def secret(value: str) -> None:
    """Mask `value` (and its escaped forms) in every log record and error line from now on."""
    _secrets.update(form for form in _forms(value) if form.strip())


def text(message: str) -> str:
    for value in sorted(_secrets, key=len, reverse=True):  # a longer form before its own core
        message = message.replace(value, MASK)
    return message


class Redact(logging.Filter):
    """Rewrites a record's message (msg % args) and exception text; drops no record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: keep what can be shown
            message = f"{record.msg!s} {record.args!r}"
        clean = text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = text(record.exc_text)
        if record.stack_info:
            record.stack_info = text(record.stack_info)
        return True


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # httpx's line per request repeats ours (backends/clevertap.py, github.py: method, path,
    # status, attempt) with the whole URL, query string included; httpcore's stay under -v
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(Redact())


def print_exc() -> None:
    """traceback.print_exc, masked (-v prints the traceback of every error)."""
    sys.stderr.write(text(traceback.format_exc()))
