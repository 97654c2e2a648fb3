"""Order execution: venues, the executor, the order matcher, the outbox relay and order expiry."""
