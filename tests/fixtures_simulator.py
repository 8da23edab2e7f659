"""Pytest fixtures for a running Canvas simulator (register with `pytest_plugins`).

- `sim`: a simulator on a free port with `small_dataset()` and the control endpoints on. One server per
  test process (so per xdist worker), reset before each test as if just started: nothing a test does
  to it (data, tokens, faults, its clock) reaches the next test.
  `sim.url`, `sim.store`, `sim.control("faults", {...})`, `sim.issue_token(scopes=None)` (a real
  OAuth round trip; returns Canvas's token response), `sim.api(access_token)` (a requests session
  with the Bearer header and a User-Agent).
- `sim_token`: an access token for the demo key with every scope of the guide's list.
- `sim_dataset(**changes)`: `small_dataset()` with lists replaced (`courses=[...]`), extended
  (`add_users=[...]`) or settings merged (`settings={"latency_ms": 50}`).
- `make_sim(dataset=None, **kwargs)`: start another simulator (same arguments as
  `run_simulator`), stopped at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from lms_canvas.simulator.testing import RunningSimulator, run_simulator, small_dataset


def build_dataset(**changes: Any) -> dict[str, Any]:
    dataset = small_dataset()
    for name, value in changes.items():
        if name.startswith("add_"):
            dataset.setdefault(name[4:], []).extend(value)
        elif name == "settings":
            dataset.setdefault("settings", {}).update(value)
        else:
            dataset[name] = value
    return dataset


@pytest.fixture
def sim_dataset() -> Callable[..., dict[str, Any]]:
    return build_dataset


@pytest.fixture
def make_sim() -> Iterator[Callable[..., RunningSimulator]]:
    with ExitStack() as stack:

        def start(dataset: dict | None = None, **kwargs: Any) -> RunningSimulator:
            if dataset is None and kwargs.get("generate") is None:
                dataset = small_dataset()
            return stack.enter_context(run_simulator(dataset, **kwargs))

        yield start


@pytest.fixture(scope="session")
def _session_sim() -> Iterator[RunningSimulator]:
    with run_simulator(small_dataset(), control=True) as running:
        yield running


@pytest.fixture
def sim(_session_sim: RunningSimulator) -> RunningSimulator:
    _session_sim.reset(small_dataset())
    return _session_sim


@pytest.fixture
def sim_token(sim: RunningSimulator) -> str:
    return sim.issue_token()["access_token"]
