-- Order execution (issue 10): what the executor and order matcher need beyond the book of 0006.
-- `stop_triggered` remembers that a stop or stop-limit reached its stop price (it now works as a
-- market or limit order); each fill carries its fee (also booked in the cash ledger); the
-- matcher reads an instrument's working orders in price-time priority through a partial index;
-- outbox rows get a sequence, so the relay republishes events in the order they were written
-- (rows of one transaction share `created_at`).
-- depends: 0006_trading_book

alter table trading.orders add column stop_triggered boolean not null default false;
alter table trading.fills add column fee numeric(20, 2) not null default 0 check (fee >= 0);

create index orders_working_symbol_idx on trading.orders (symbol, submitted_at)
    where status in ('new', 'partially_filled');

alter table trading.outbox add column seq bigint generated always as identity;
create index outbox_unpublished_seq_idx on trading.outbox (seq) where published_at is null;
