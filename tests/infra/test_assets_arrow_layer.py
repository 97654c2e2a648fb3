"""The real deps-arrow layer (pyarrow), built from the lock, fits Lambda's 250 MB with every layer of each
function using it (205.8 MB for ingest_http and ingest_s3 when it was added)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .layer_limits import assert_layer_users_fit

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def test_functions_with_the_arrow_layer_stay_under_the_unzipped_limit(tmp_path: Path) -> None:
    assert_layer_users_fit("deps-arrow", ["ingest_http", "ingest_s3"], tmp_path, at_least_mb=20)
