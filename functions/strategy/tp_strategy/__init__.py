"""The strategy domain: strategies, the live runner, backtests and parameter sweeps."""
