-- Strategy API (issue 12): a strategy's name is unique among the account's live strategies only (a deleted
-- one frees its name, its signals and P&L stay readable by id); backtests and sweeps remember the
-- client's Idempotency-Key so a retried POST returns the same job; a sweep keeps its execution's id.
-- depends: 0040_strategy

alter table strategy.strategies drop constraint strategies_account_id_name_key;
create unique index strategies_live_name_idx on strategy.strategies (account_id, name) where deleted_at is null;

alter table strategy.backtests add column idempotency_key text check (length(idempotency_key) between 1 and 64);
create unique index backtests_idempotency_idx on strategy.backtests (account_id, idempotency_key)
    where idempotency_key is not null;
create index backtests_sweep_idx on strategy.backtests (sweep_id) where sweep_id is not null;

alter table strategy.sweeps
    add column idempotency_key text check (length(idempotency_key) between 1 and 64),
    add column execution       text,       -- the Step Functions execution (ARN in AWS, a local id locally)
    add column error           text,
    add column started_at      timestamptz;
create unique index sweeps_idempotency_idx on strategy.sweeps (account_id, idempotency_key)
    where idempotency_key is not null;

alter table strategy.backtests add column report text;  -- the HTML report, rendered once by the worker
