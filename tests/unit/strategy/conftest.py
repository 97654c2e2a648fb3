"""Each test starts with no TP_* environment and no cached settings, pools, clients or secrets."""

from support.env import _clean_tradeplane_env

__all__ = ["_clean_tradeplane_env"]
