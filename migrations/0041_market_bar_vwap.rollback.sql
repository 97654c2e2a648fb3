alter table market.bars drop column if exists notional;
