"""What holds a connection or a file: closed on leaving a `with` block, as a `finally` would."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """`with x:` closes x on leaving the block; an exception goes on (never swallowed)."""

    def close(self) -> None:  # each resource says what closing it means
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
