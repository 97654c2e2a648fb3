-- Core API identity: users, refresh token families, accounts, API keys, risk settings,
-- IP allowlists (docs/architecture.md, "Data ownership": the `core` schema).
-- depends: 0004_bar_lifecycle

create table core.users (
    id            uuid        primary key,
    username      text        not null,
    -- "scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>": the parameters travel with the hash.
    password_hash text        not null check (password_hash like 'scrypt$%'),
    scopes        text[]      not null default '{}',
    created_at    timestamptz not null default now(),
    disabled_at   timestamptz,
    constraint users_username_format check (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$')
);
create unique index users_username_key on core.users (username);

create table core.accounts (
    id             uuid        primary key,
    owner_id       uuid        not null references core.users (id),
    account_number text        not null unique,
    currency       char(3)     not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
    kind           text        not null default 'paper' check (kind in ('paper')),
    status         text        not null default 'ACTIVE' check (status in ('ACTIVE', 'CLOSED')),
    created_at     timestamptz not null default now(),
    closed_at      timestamptz,
    -- The client's Idempotency-Key for the create request: a retry returns the same account.
    creation_key   text check (length(creation_key) between 1 and 64),
    constraint accounts_creation_key unique (owner_id, creation_key)
);
create index accounts_owner_idx on core.accounts (owner_id);

-- A family is one sign-in; each refresh rotates its token. Presenting a token that
-- was already rotated revokes the whole family (the token was stolen or replayed).
create table core.refresh_families (
    id             uuid        primary key,
    user_id        uuid        not null references core.users (id),
    account_id     uuid        references core.accounts (id),  -- the account access tokens are bound to
    created_at     timestamptz not null default now(),
    revoked_at     timestamptz,
    revoked_reason text
);
create index refresh_families_user_idx on core.refresh_families (user_id);

create table core.refresh_tokens (
    token_hash bytea       primary key,  -- sha256 of a 256-bit random token: never the token itself
    family_id  uuid        not null references core.refresh_families (id),
    issued_at  timestamptz not null default now(),
    expires_at timestamptz not null,
    rotated_at timestamptz
);
create index refresh_tokens_family_idx on core.refresh_tokens (family_id);

create table core.api_keys (
    key_id      text        primary key check (key_id ~ '^PK[A-Z0-9]{18}$'),
    secret_hash bytea       not null,  -- sha256 of a 256-bit random secret (high entropy: no KDF needed)
    user_id     uuid        not null references core.users (id),
    account_id  uuid        not null references core.accounts (id),
    scopes      text[]      not null,
    label       text        not null default '' check (length(label) <= 64),
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
create index api_keys_user_idx on core.api_keys (user_id);

-- Per-account controls and pre-trade risk limits; a null limit means "no limit".
create table core.risk_settings (
    account_id            uuid        primary key references core.accounts (id),
    trading_blocked       boolean     not null default false,  -- the kill switch (Alpaca's suspend_trade)
    shorting_enabled      boolean     not null default false,  -- Alpaca's no_shorting, inverted
    max_order_notional    numeric(20, 2) check (max_order_notional > 0),
    max_position_qty      numeric(20, 8) check (max_position_qty > 0),
    price_band_pct        numeric(6, 3)  check (price_band_pct > 0),
    max_orders_per_minute integer        check (max_orders_per_minute > 0),
    tradable_symbols      text[],         -- null: every symbol (until market.instruments exists)
    fractional_trading    boolean     not null default true,
    trade_confirm_email   text        not null default 'none' check (trade_confirm_email in ('all', 'none')),
    updated_at            timestamptz not null default now()
);

create table core.ip_allowlist (
    account_id uuid        not null references core.accounts (id),
    cidr       cidr        not null,
    created_at timestamptz not null default now(),
    primary key (account_id, cidr)
);
