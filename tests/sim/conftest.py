"""Options of the seeded simulation.

``--seed N`` replays exactly one seed (every seeded test runs seed N only);
``--sim-seeds K`` sets how many seeds the sweep runs (seeds 0 .. K-1).

The options are registered in tests/conftest.py (pytest reads options only from conftest
files it loads before parsing the command line), so both ``pytest --seed 12`` and
``pytest tests/sim --seed 12`` work. Without them the defaults apply.
"""

from __future__ import annotations

import pytest

from tests.conftest import SWEEP_SEEDS_DEFAULT

LARGE_SEEDS_DEFAULT = (0, 1, 2)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    seed = metafunc.config.getoption("seed", default=None)
    if "sweep_seed" in metafunc.fixturenames:
        count = metafunc.config.getoption("sim_seeds", default=SWEEP_SEEDS_DEFAULT)
        seeds = [seed] if seed is not None else list(range(count))
        metafunc.parametrize("sweep_seed", seeds, ids=[f"seed={s}" for s in seeds])
    if "large_seed" in metafunc.fixturenames:
        seeds = [seed] if seed is not None else list(LARGE_SEEDS_DEFAULT)
        metafunc.parametrize("large_seed", seeds, ids=[f"seed={s}" for s in seeds])
