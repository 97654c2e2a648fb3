drop index if exists trading.orders_routed_open_idx;
alter table trading.orders drop column if exists venue;
drop table if exists core.account_venues;
