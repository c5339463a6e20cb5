"""Coverage-guided fuzzing of the loader with atheris (libFuzzer), seeded with the repository's
campaign and labels files: `make fuzz` runs it for a minute when atheris installs. Any
exception other than ValidationFailed, or a problem without a code or a location, is a crash;
libFuzzer writes the input that caused it to crash-<hash> in the working folder.

    .venv/bin/python tools/fuzz_loader.py -max_total_time=60 [libFuzzer options]"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from campaign_gitops import yamlio  # noqa: F401  (instrumented for coverage)
    from campaign_gitops.desired.loader import Source, build, decode
    from campaign_gitops.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[1]
LABELS = Source("labels.yaml", (REPO / "labels.yaml").read_text())
CODE = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")


def test_one_input(data: bytes) -> None:
    file = "campaigns/fuzzed.yaml"
    try:
        build([decode(file, data)], LABELS)
    except ValidationFailed as exc:
        for problem in exc.problems:
            ok = CODE.fullmatch(problem.code) and problem.line >= 1 and problem.col >= 1
            if not ok or problem.file not in (file, "labels.yaml"):
                raise AssertionError(f"a problem without a code or a place: {problem}") from exc


def main() -> None:
    # libFuzzer adds the inputs that reach new code here, so the next run starts from them; it
    # exits the process itself, so the folder is kept (.campaign-gitops is ignored by git)
    corpus = REPO / ".campaign-gitops" / "fuzz-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for path in [*sorted((REPO / "campaigns").rglob("*.yaml")), REPO / "labels.yaml"]:
        shutil.copy(path, corpus / path.name)
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[1:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
