drop table if exists market.bars;
