"""Streaming: Alpaca's `trade_updates` over an API Gateway WebSocket API (docs/streaming.md)."""
