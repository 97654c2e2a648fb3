drop table if exists strategy.sweep_results;
drop table if exists strategy.sweeps;
drop table if exists strategy.backtests;
drop table if exists strategy.signals;
drop table if exists strategy.strategies;
