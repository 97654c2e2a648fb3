"""Data ETL domain: market data ticks in, OHLCV bars out."""
