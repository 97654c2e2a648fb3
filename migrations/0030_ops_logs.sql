-- Aggregated function logs (issue 13): one row per log line, partitioned by day.
-- log_aggregator COPYs rows in and creates the day's partition on demand; log_retention drops
-- old partitions and creates the next days' ahead. Partitions are named ops.logs_pYYYYMMDD.
-- depends: 0001_schemas

create sequence ops.logs_id_seq;

create table ops.logs (
    id             bigint      not null default nextval('ops.logs_id_seq'),
    ts             timestamptz not null,
    level          text        not null,
    service        text        not null,
    function_name  text        not null,
    request_id     text,
    correlation_id text,
    account_id     text,
    order_id       text,
    strategy_id    text,
    symbol         text,
    event_type     text,
    message        text        not null,
    fields         jsonb,       -- the whole JSON line as written (null for plain-text lines)
    log_group      text        not null,
    log_stream     text        not null,
    cw_event_id    text        not null,
    primary key (ts, id)
) partition by range (ts);

alter sequence ops.logs_id_seq owned by ops.logs.id;

-- What the queries filter on, newest first; partial indexes where most lines carry no value.
create index logs_ts_idx on ops.logs (ts);
create index logs_correlation_idx on ops.logs (correlation_id, ts) where correlation_id is not null;
create index logs_service_idx on ops.logs (service, ts);
create index logs_level_idx on ops.logs (level, ts) where level in ('WARNING', 'ERROR', 'CRITICAL');
create index logs_order_idx on ops.logs (order_id, ts) where order_id is not null;
create index logs_account_idx on ops.logs (account_id, ts) where account_id is not null;

-- Subscription deliveries already stored: a retried delivery (Lambda retries asynchronous
-- invocations) is recognised by its log group and first/last event ids and skipped.
create table ops.log_deliveries (
    delivery_key text        primary key,
    stored_at    timestamptz not null default now(),
    lines        integer     not null
);
create index log_deliveries_stored_at_idx on ops.log_deliveries (stored_at);

comment on table ops.logs is 'Function log lines by day (tp_logging); see docs/logging.md';
