drop index if exists market.bars_open_idx;
alter table market.bars drop column open_ts, drop column close_ts, drop column closed, drop column revision;
