drop index if exists trading.outbox_replay_idx;
