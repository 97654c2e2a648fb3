drop table if exists market.instruments;
