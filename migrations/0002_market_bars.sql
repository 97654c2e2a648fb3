-- OHLCV bars per symbol and interval (written by the ETL bar_aggregator; upserted per bucket).
-- depends: 0001_schemas

create table market.bars (
    symbol       text        not null,
    interval     text        not null,
    bucket_start timestamptz not null,
    open         numeric     not null,
    high         numeric     not null,
    low          numeric     not null,
    close        numeric     not null,
    volume       numeric     not null default 0,
    trade_count  integer     not null default 0,
    updated_at   timestamptz not null default now(),
    primary key (symbol, interval, bucket_start),
    constraint bars_symbol_not_blank check (symbol <> ''),
    constraint bars_interval_not_blank check (interval <> ''),
    constraint bars_high_ge_low check (high >= low),
    constraint bars_volume_nonnegative check (volume >= 0),
    constraint bars_trade_count_nonnegative check (trade_count >= 0)
);

comment on table market.bars is 'OHLCV bars; money and quantities are numeric, bucket_start is the UTC start of the bucket';
