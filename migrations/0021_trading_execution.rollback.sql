drop index if exists trading.outbox_unpublished_seq_idx;
alter table trading.outbox drop column if exists seq;
drop index if exists trading.orders_working_symbol_idx;
alter table trading.fills drop column if exists fee;
alter table trading.orders drop column if exists stop_triggered;
