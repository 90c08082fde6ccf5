"""Options of the seeded simulation.

``--seed N`` replays exactly one seed (every seeded test runs seed N only);
``--sim-seeds K`` sets how many seeds the sweep runs (seeds 0 .. K-1).

pytest only accepts options registered by conftest files it loads before parsing the command
line: this one is, when ``tests/sim`` (or a file in it) is named, as in
``pytest tests/sim --seed 12``. A bare ``pytest --seed 12`` would need these hooks in
tests/conftest.py. Without the options (a bare ``pytest``) the defaults apply.
"""

from __future__ import annotations

import pytest

SWEEP_SEEDS_DEFAULT = 300
LARGE_SEEDS_DEFAULT = (0, 1, 2)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sim", "seeded deterministic simulation (tests/sim)")
    group.addoption(
        "--seed",
        type=int,
        default=None,
        help="replay exactly this simulation seed (as printed by 'SIM FAILED seed=<n>')",
    )
    group.addoption(
        "--sim-seeds",
        type=int,
        default=SWEEP_SEEDS_DEFAULT,
        help=f"number of seeds in the simulation sweep (default {SWEEP_SEEDS_DEFAULT})",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    seed = metafunc.config.getoption("seed", default=None)
    if "sweep_seed" in metafunc.fixturenames:
        count = metafunc.config.getoption("sim_seeds", default=SWEEP_SEEDS_DEFAULT)
        seeds = [seed] if seed is not None else list(range(count))
        metafunc.parametrize("sweep_seed", seeds, ids=[f"seed={s}" for s in seeds])
    if "large_seed" in metafunc.fixturenames:
        seeds = [seed] if seed is not None else list(LARGE_SEEDS_DEFAULT)
        metafunc.parametrize("large_seed", seeds, ids=[f"seed={s}" for s in seeds])
