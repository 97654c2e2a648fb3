-- Streaming (issue 14): replay reads an account's trade updates after a cursor from the outbox,
-- in `seq` order. The index serves that read only; streaming never writes trading.
-- depends: 0021_trading_execution
create index if not exists outbox_replay_idx on trading.outbox (key, seq) where topic = 'orders.events';
