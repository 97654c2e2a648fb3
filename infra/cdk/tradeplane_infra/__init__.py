"""Tradeplane AWS infrastructure (CDK), built from functions/manifest.toml."""
