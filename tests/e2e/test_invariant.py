"""The reconciler's invariant, model-based, on the local platform and on the CleverTap stand-in:
after a successful apply, a plan at the same time has no change (`plan --detailed-exitcode`
exits 0). Hypothesis drives random sequences of file edits (add, change, remove, stop, archive,
labels), time moves, applies (some killed at a random journal point, through the CLI), work done
by hand in the dashboard and acknowledgements; after each apply it checks the invariant, that no
id has more than one live platform campaign (the managed one), and that the state store lost
nothing. A blocked plan must leave everything as it was; the model then takes the remedy.

Plans and applies run in this process through the real Workspace and commands (a CLI process
per step would cost the budget); killed applies run the CLI, since a kill ends the process.
Bounds are hypothesis profiles, chosen by CAMPAIGN_GITOPS_FUZZ: `suite` (the default, about
75 seconds for both backends) and `long` (`make fuzz`: many more and longer sequences)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.e2e.cli import NOT_INHERITED
from tests.e2e.reconciler_model import T0, Doc, Reconciler
from tests.fake_clevertap import PASSCODE, FakeClevertap

# per backend: (sequences, steps at most); the stand-in's creates are paced at 3 a second
SUITE_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
BOUNDS = {"suite": {"local": (30, 30), "clevertap": (15, 30)},
          "long": {"local": (400, 50), "clevertap": (150, 50)}}  # fmt: skip
for _scale, _backends in BOUNDS.items():
    for _backend, (_examples, _steps) in _backends.items():
        settings.register_profile(
            f"invariant-{_backend}-{_scale}",
            max_examples=_examples,
            stateful_step_count=_steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            # the suite's run is the same every time (a CI run must not be a lottery, nor spend
            # minutes shrinking); `make fuzz` explores new sequences
            derandomize=_scale == "suite",
            print_blob=True,
            # no minutes of shrinking in the suite: the failing sequence is printed as it is
            phases=SUITE_PHASES if _scale == "suite" else list(Phase),
        )
SCALE = os.environ.get("CAMPAIGN_GITOPS_FUZZ", "suite")


class ClevertapReconciler(Reconciler):
    BACKEND = "clevertap"


@pytest.fixture
def in_process_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's environment, in this process: no CI runner's variables (an apply in GitHub
    Actions applies merged pull requests), the stand-in's passcode."""
    for name in NOT_INHERITED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLEVERTAP_PASSCODE", PASSCODE)
    monkeypatch.setenv("NO_COLOR", "1")
    yield


def test_local_platform_converges(in_process_env: None) -> None:
    run_state_machine_as_test(Reconciler, settings=settings.get_profile(f"invariant-local-{SCALE}"))


def test_clevertap_converges(in_process_env: None) -> None:
    with FakeClevertap() as fake:
        machine = type("Machine", (ClevertapReconciler,), {"fake": fake})
        profile = settings.get_profile(f"invariant-clevertap-{SCALE}")
        run_state_machine_as_test(machine, settings=profile)


def test_a_readded_id_finds_its_running_campaign(in_process_env: None) -> None:
    """The minimal sequence the model found: a campaign delivered now, its file removed (the
    campaign runs on, forgotten), the file back with a date: a second campaign was created."""
    with FakeClevertap() as fake:
        machine = type("Machine", (ClevertapReconciler,), {"fake": fake})()
        try:
            machine.files["d"] = Doc("Sale", "push", "now", T0 + timedelta(hours=33))
            machine._write("d")
            machine.apply_now()
            del machine.files["d"]
            machine._write("d")
            machine.apply_now()
            machine.files["d"] = Doc("Sale", "push", "on_date_time", T0 + timedelta(hours=33))
            machine._write("d")
            machine.apply_now()  # was: d has 2 live platform campaigns
        finally:
            machine.teardown()
