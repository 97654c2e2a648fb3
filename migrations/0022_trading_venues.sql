-- Alpaca venue and reconciliation (issue 10): which venue works an account's orders, and which
-- venue holds each order. `core.account_venues` names the account's venue (no row: the paper
-- venue); its key, secret and URL live in Secrets Manager under `<project>/<stage>/venues/<account id>`,
-- never in the database. `trading.orders.venue` is set by the executor when it routes an order:
-- the order matcher works only paper orders, and the reconciler polls the routed ones that are open.
-- depends: 0021_trading_execution

create table core.account_venues (
    account_id uuid        primary key references core.accounts (id),
    venue      text        not null check (venue in ('paper', 'alpaca')),
    updated_at timestamptz not null default now()
);

alter table trading.orders add column venue text not null default 'paper';

create index orders_routed_open_idx on trading.orders (venue, account_id)
    where venue <> 'paper' and status in ('new', 'partially_filled', 'pending_cancel', 'pending_replace');
