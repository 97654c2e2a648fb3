"""The real deps-alpaca layer, built from the lock, fits Lambda's 250 MB with every layer of each function using it.

alpaca-py pulls pandas and numpy (~90 MB unzipped); `deps-calendar` carries another copy for
exchange_calendars, so a function with both would be over the limit: that is why the executor
holds opg/cls orders and `order_expiry` (which has the calendar) executes them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .layer_limits import assert_layer_users_fit

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def test_functions_with_the_alpaca_layer_stay_under_the_unzipped_limit(tmp_path: Path) -> None:
    # really built: alpaca-py, pandas, numpy
    assert_layer_users_fit("deps-alpaca", ["executor", "reconciler", "venue_follower"], tmp_path, at_least_mb=20)
