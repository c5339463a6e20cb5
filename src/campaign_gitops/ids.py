"""Campaign ids given on the command line are checked before they name a file or a record:
`clone a ../../x` must not write outside the campaigns folder."""

from __future__ import annotations

import re

from campaign_gitops.errors import FatalError

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
MAX_ID = 128  # as the models allow


class BadId(FatalError):
    exit_code = 2  # bad command-line usage


def check_id(value: str, what: str = "campaign id") -> str:
    if ID_RE.fullmatch(value) and len(value) <= MAX_ID:
        return value
    shown = value if len(value) <= 60 else value[:60] + "..."
    raise BadId(
        f"{shown!r} is not a {what}: an id is lowercase letters, digits and dashes, starting "
        f"with a letter or a digit ([a-z0-9][a-z0-9-]*), at most {MAX_ID} characters"
    )
