alter table strategy.backtests drop column report;
alter table strategy.sweeps drop column idempotency_key, drop column execution, drop column error, drop column started_at;
drop index if exists strategy.backtests_sweep_idx;
alter table strategy.backtests drop column idempotency_key;
drop index if exists strategy.strategies_live_name_idx;
alter table strategy.strategies add constraint strategies_account_id_name_key unique (account_id, name);
