-- The book of record (`trading`): orders and legs, reservations, cash ledger, fills,
-- positions, outbox, equity snapshots. Money and quantities are numeric, times timestamptz.
-- depends: 0005_core_identity

create table trading.orders (
    id               uuid          primary key,
    account_id       uuid          not null references core.accounts (id),
    client_order_id  varchar(48)   not null check (length(client_order_id) between 1 and 48),
    parent_id        uuid          references trading.orders (id),  -- legs of bracket/oco/oto orders
    leg_role         text          check (leg_role in ('take_profit', 'stop_loss')),
    symbol           text          not null,
    asset_class      text          not null default 'us_equity',
    side             text          not null check (side in ('buy', 'sell')),
    type             text          not null check (type in ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')),
    time_in_force    text          not null check (time_in_force in ('day', 'gtc', 'opg', 'cls', 'ioc', 'fok')),
    order_class      text          not null default 'simple' check (order_class in ('simple', 'bracket', 'oco', 'oto')),
    qty              numeric(20, 8) check (qty > 0),
    notional         numeric(20, 2) check (notional > 0),
    limit_price      numeric(20, 8) check (limit_price > 0),
    stop_price       numeric(20, 8) check (stop_price > 0),
    trail_price      numeric(20, 8) check (trail_price > 0),
    trail_percent    numeric(9, 4)  check (trail_percent > 0),
    hwm              numeric(20, 8),
    extended_hours   boolean       not null default false,
    position_intent  text,
    status           text          not null check (status in (
        'new', 'partially_filled', 'filled', 'done_for_day', 'canceled', 'expired', 'replaced',
        'pending_cancel', 'pending_replace', 'accepted', 'pending_new', 'accepted_for_bidding',
        'stopped', 'rejected', 'suspended', 'calculated', 'held')),
    filled_qty       numeric(20, 8) not null default 0,
    filled_avg_price numeric(20, 8),
    request_hash     text          not null,  -- what the client sent, to answer a repeated client_order_id
    replaces         uuid          references trading.orders (id),
    replaced_by      uuid          references trading.orders (id),
    created_at       timestamptz   not null default now(),
    updated_at       timestamptz   not null default now(),
    submitted_at     timestamptz   not null default now(),
    filled_at        timestamptz,
    canceled_at      timestamptz,
    expired_at       timestamptz,
    failed_at        timestamptz,
    replaced_at      timestamptz,
    constraint orders_client_order_id_key unique (account_id, client_order_id),
    constraint orders_qty_or_notional check ((qty is null) <> (notional is null)),
    constraint orders_leg_has_parent check ((parent_id is null) = (leg_role is null))
);
create index orders_account_created_idx on trading.orders (account_id, created_at desc);
create index orders_open_idx on trading.orders (account_id)
    where status in ('new', 'accepted', 'pending_new', 'partially_filled', 'held', 'pending_cancel', 'pending_replace');

-- Cash an open buy order holds back from buying power; released when the order ends.
create table trading.reservations (
    order_id    uuid           primary key references trading.orders (id),
    account_id  uuid           not null references core.accounts (id),
    amount      numeric(20, 2) not null check (amount >= 0),
    created_at  timestamptz    not null default now(),
    released_at timestamptz
);
create index reservations_open_idx on trading.reservations (account_id) where released_at is null;

-- Every cash movement, signed (+ in, - out). The balance is the sum.
create table trading.cash_ledger (
    id              uuid           primary key,
    account_id      uuid           not null references core.accounts (id),
    entry_type      text           not null check (entry_type in ('deposit', 'withdrawal', 'fill', 'fee')),
    amount          numeric(20, 2) not null,
    order_id        uuid           references trading.orders (id),
    idempotency_key text,
    description     text           not null default '',
    occurred_at     timestamptz    not null default now(),
    constraint cash_ledger_idempotency_key unique (account_id, idempotency_key),
    constraint cash_ledger_sign check (
        (entry_type = 'deposit' and amount > 0) or (entry_type = 'withdrawal' and amount < 0)
        or entry_type in ('fill', 'fee'))
);
create index cash_ledger_account_idx on trading.cash_ledger (account_id, occurred_at);

-- Fills are written by execution; the Core API reads them for activities and P&L.
create table trading.fills (
    id          uuid           primary key,
    order_id    uuid           not null references trading.orders (id),
    account_id  uuid           not null references core.accounts (id),
    symbol      text           not null,
    side        text           not null check (side in ('buy', 'sell')),
    qty         numeric(20, 8) not null check (qty > 0),
    price       numeric(20, 8) not null check (price > 0),
    occurred_at timestamptz    not null default now()
);
create index fills_account_idx on trading.fills (account_id, occurred_at);

create table trading.positions (
    account_id      uuid           not null references core.accounts (id),
    symbol          text           not null,
    qty             numeric(20, 8) not null default 0,  -- signed: negative is short
    avg_entry_price numeric(20, 8) not null default 0,
    realized_pl     numeric(20, 2) not null default 0,
    updated_at      timestamptz    not null default now(),
    primary key (account_id, symbol)
);

-- Events committed with the change that caused them; published right after the commit,
-- and by the execution issue's relay if a crash left a row unpublished.
create table trading.outbox (
    id           uuid        primary key,  -- the envelope id
    topic        text        not null,
    key          text        not null,
    envelope     jsonb       not null,
    created_at   timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished_idx on trading.outbox (created_at) where published_at is null;

create table trading.equity_snapshots (
    account_id      uuid           not null references core.accounts (id),
    taken_at        timestamptz    not null,
    equity          numeric(20, 2) not null,
    cash            numeric(20, 2) not null,
    positions_value numeric(20, 2) not null,
    primary key (account_id, taken_at)
);
