"""A sweep's cells: every grid combination exactly once, rebuilt from the stored sweep by index alone."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st
from tp_strategy.sweeps import cell_params

grids = st.dictionaries(
    st.sampled_from(["fast", "slow", "window", "k"]),
    st.lists(st.integers(1, 50), min_size=1, max_size=4, unique=True),
    min_size=1,
    max_size=3,
)


@given(grids)
def test_cells_cover_the_grid_once_over_the_base(grid: dict[str, list[int]]) -> None:
    base = {"fast": 0, "slow": 0, "kind": "sma"}
    count = 1
    for values in grid.values():
        count *= len(values)
    cells = [cell_params(base, grid, i) for i in range(count)]
    combos = {tuple(c[n] for n in sorted(grid)) for c in cells}
    assert combos == set(itertools.product(*(grid[n] for n in sorted(grid))))
    assert all(c["kind"] == "sma" for c in cells)  # base parameters the grid does not name stay


def test_cell_order_is_fixed_by_sorted_names() -> None:
    grid = {"slow": [20, 30], "fast": [5, 10]}
    assert [cell_params({}, grid, i) for i in range(4)] == [
        {"fast": 5, "slow": 20}, {"fast": 5, "slow": 30}, {"fast": 10, "slow": 20}, {"fast": 10, "slow": 30},
    ]  # fmt: skip
