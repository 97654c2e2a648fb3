-- Strategy service (issue 12): strategies bound to an account and symbols, the signals they
-- raised, backtest jobs, and parameter sweeps with their ranked results. The strategy domain
-- writes only this schema; it reads trading.orders / trading.fills to attribute fills to a
-- strategy through the client order ids its signals carry.
-- depends: 0022_trading_venues

create table strategy.strategies (
    id          uuid        primary key,
    account_id  uuid        not null references core.accounts (id),
    name        text        not null check (length(name) between 1 and 100),
    type        text        not null,                       -- a built-in type name or a module path
    params      jsonb       not null default '{}'::jsonb,   -- validated by the type's Params model
    symbols     text[]      not null check (cardinality(symbols) between 1 and 100),
    timeframe   text        not null default '1m',          -- the bar interval it trades on
    sizing      jsonb       not null,                       -- {"kind": "fixed_qty"|"fixed_notional"|"percent_equity"|"all_cash", ...}
    allow_short boolean     not null default false,
    enabled     boolean     not null default false,
    version     integer     not null default 1,             -- bumped by every update (ETag / If-Match)
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    deleted_at  timestamptz,                                -- soft delete: its signals and P&L stay readable
    unique (account_id, name)
);

create index strategies_enabled_symbols_idx on strategy.strategies using gin (symbols)
    where enabled and deleted_at is null;

create table strategy.signals (
    id              uuid           primary key,
    strategy_id     uuid           not null references strategy.strategies (id),
    symbol          text           not null,
    bar_ts          timestamptz    not null,        -- the closed bar that raised it
    direction       smallint       not null check (direction in (-1, 0, 1)),
    reason          text           not null,
    client_order_id varchar(48),                    -- the order it submitted, if any
    order_qty       numeric(20, 8),
    order_side      text           check (order_side in ('buy', 'sell')),
    status          text           not null default 'raised'
                    check (status in ('raised', 'submitted', 'skipped', 'failed')),
    detail          text,                           -- why skipped or failed
    created_at      timestamptz    not null default now(),
    unique (strategy_id, symbol, bar_ts)            -- a redelivered bar raises nothing new
);

create index signals_strategy_time_idx on strategy.signals (strategy_id, bar_ts desc);

create table strategy.backtests (
    id          uuid        primary key,
    account_id  uuid        not null references core.accounts (id),
    request     jsonb       not null,
    status      text        not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed')),
    result      jsonb,                                  -- metrics, equity curve, trades
    error       text,
    sweep_id    uuid,                                   -- set when it is one cell of a sweep
    created_at  timestamptz not null default now(),
    started_at  timestamptz,
    finished_at timestamptz
);

create index backtests_account_time_idx on strategy.backtests (account_id, created_at desc);

create table strategy.sweeps (
    id          uuid        primary key,
    account_id  uuid        not null references core.accounts (id),
    request     jsonb       not null,                   -- base backtest request and the parameter grid
    rank_by     text        not null default 'sharpe',
    status      text        not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed')),
    cells       integer     not null check (cells > 0),
    created_at  timestamptz not null default now(),
    finished_at timestamptz
);

create table strategy.sweep_results (
    sweep_id    uuid        not null references strategy.sweeps (id),
    cell        integer     not null,
    params      jsonb       not null,
    metrics     jsonb       not null,
    primary key (sweep_id, cell)                        -- a retried cell overwrites nothing
);
