"""Did you mean ...? The nearest known name to a word a person mistyped."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: object, names: Iterable[object]) -> str:
    """A suggestion, "; did you mean 'email'?", when one of `names` is close to `word`."""
    if not isinstance(word, str):
        return ""
    near = difflib.get_close_matches(word, [str(n) for n in names], n=1)
    return f"; did you mean {near[0]!r}?" if near else ""
