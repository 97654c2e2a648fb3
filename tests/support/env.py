"""Each shared-layer test starts with no TP_* settings and no cached clients."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support.reset import reset_all


@pytest.fixture(autouse=True)
def _clean_tradeplane_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TP_") and not name.startswith("TP_LOCAL_"):
            monkeypatch.delenv(name)
    reset_all()
    yield
    reset_all()
