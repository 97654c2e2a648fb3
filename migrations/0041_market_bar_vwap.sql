-- VWAP of a bar: the sum of price x size of its trades, kept beside the volume so partial bars merge by
-- addition and the VWAP (notional / volume) is exact at any time. Null: unknown (bars stored before this
-- migration, and bars imported as bars without a VWAP column).
-- depends: 0004_bar_lifecycle
alter table market.bars add column notional numeric;
