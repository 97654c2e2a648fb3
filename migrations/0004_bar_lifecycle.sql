-- Bar lifecycle: the tick times behind open/close (so out-of-order ticks merge
-- correctly), whether the bar has been published as final, and its revision.
-- depends: 0002_market_bars

alter table market.bars
    add column open_ts  timestamptz,
    add column close_ts timestamptz,
    add column closed   boolean not null default false,
    add column revision integer not null default 0;

create index bars_open_idx on market.bars (symbol, bucket_start) where not closed;
