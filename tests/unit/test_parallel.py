"""Checking files in worker processes gives what one process gives, in the same order."""

from __future__ import annotations

import pytest

from campaign_gitops.desired import parallel
from campaign_gitops.desired.loader import Desired, Source, build
from campaign_gitops.errors import FatalError, ValidationFailed
from tests.e2e.test_partial_plans import generated

LABELS = Source(
    "labels.yaml",
    "labels:\n" + "".join(f"  - name: {n}\n" for n in ("Onboarding", "Promotions", "Newsletter")),
)


def _sources(count: int, broken: bool) -> list[Source]:
    sources = [Source(f"campaigns/t-{i % 7}/gen-{i:04d}.yaml", generated(i)) for i in range(count)]
    if broken:  # every kind of problem, spread over the files and the chunks
        for i in range(3, count, 37):
            sources[i] = Source(sources[i].file, sources[i].text + "colour: blue\n")
        for i in range(5, count, 53):
            sources[i] = Source(sources[i].file, sources[i].text.replace("within: ", "within: x"))
        for i in range(11, count, 97):
            sources[i] = Source(sources[i].file, "name: [unclosed\n")
        sources[40] = Source("campaigns/x/gen-0041.yaml", generated(41))  # a duplicate id
    return sources


def _build(monkeypatch: pytest.MonkeyPatch, jobs: str, sources: list[Source]) -> Desired | str:
    monkeypatch.setenv(parallel.JOBS_ENV, jobs)
    try:
        return build(sources, LABELS)
    except ValidationFailed as exc:
        return "\n".join(p.render() for p in exc.problems)


def test_problems_are_the_same_with_one_process_or_two(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _sources(parallel.THRESHOLD + 100, broken=True)
    one = _build(monkeypatch, "1", sources)
    two = _build(monkeypatch, "2", sources)
    assert isinstance(one, str) and one == two
    assert "unknown field 'colour'" in one and "already used by" in one
    assert "[yaml-syntax]" in one and "is not defined in labels.yaml" in one  # Reengage


def test_the_desired_state_is_the_same_with_one_process_or_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = [
        s for s in _sources(2 * parallel.THRESHOLD, broken=False) if "Reengage" not in s.text
    ]
    one = _build(monkeypatch, "1", sources)
    two = _build(monkeypatch, "2", sources)
    assert isinstance(one, Desired) and isinstance(two, Desired)
    assert list(one.campaigns) == list(two.campaigns) and len(one.campaigns) > parallel.THRESHOLD
    checked = list(parallel.check_campaigns(sources, workers=2))  # from workers: documents
    assert all(c.valid and c.spec is None and c.data for c in checked)
    for key, doc in one.campaigns.items():
        assert two.campaigns[key].spec == doc.spec
        assert two.campaigns[key] == doc


def test_jobs_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.JOBS_ENV, "3")
    assert parallel.jobs() == 3
    monkeypatch.setenv(parallel.JOBS_ENV, "0")
    assert parallel.jobs() == parallel.cores()
    monkeypatch.delenv(parallel.JOBS_ENV)
    assert parallel.jobs() == parallel.cores()
    monkeypatch.setenv(parallel.JOBS_ENV, "many")
    with pytest.raises(FatalError, match="a number of processes"):
        parallel.jobs()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_what_then_makes_is_the_same_in_this_process_and_in_workers(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The calendar's digest of each campaign (`then`) is made where the file is checked; from
    a forked or a spawned worker (no fork, or threads running) it is what this process makes."""
    import multiprocessing

    from campaign_gitops.views import calendar_page

    sources = [
        s for s in _sources(2 * parallel.THRESHOLD, broken=False) if "Reengage" not in s.text
    ]
    assert len(sources) >= parallel.THRESHOLD  # enough for workers
    monkeypatch.setenv(parallel.JOBS_ENV, "1")
    one = build(sources, LABELS, then=calendar_page.draw)
    monkeypatch.setenv(parallel.JOBS_ENV, "2")
    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context(method))
    two = build(sources, LABELS, then=calendar_page.draw)
    assert len(one.made) == len(sources) and not one.campaigns and not two.campaigns
    assert list(one.made) == list(two.made) and one.made == two.made
    assert all(isinstance(d, calendar_page.Drawn) for d in two.made.values())
