-- Tradable instruments, served in Alpaca's Asset shape by GET /v2/assets. Ids are derived from the
-- symbol (md5 of 'tradeplane-asset:' || symbol, as a uuid) so an asset keeps its id across
-- environments and the admin upsert (PUT /v1/instruments) computes the same id.
-- depends: 0001_schemas

create table market.instruments (
    id             uuid        primary key,
    symbol         text        not null unique,
    class          text        not null default 'us_equity',
    exchange       text        not null,
    status         text        not null default 'active',
    tradable       boolean     not null default true,
    marginable     boolean     not null default true,
    shortable      boolean     not null default true,
    easy_to_borrow boolean     not null default true,
    fractionable   boolean     not null default true,
    name           text        not null default '',
    attributes     text[]      not null default '{}',
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint instruments_symbol_format check (symbol ~ '^[A-Z][A-Z0-9.]{0,11}$'),
    constraint instruments_id_from_symbol check (id = md5('tradeplane-asset:' || symbol)::uuid),
    constraint instruments_class check (class in ('us_equity')),
    constraint instruments_exchange check (exchange in ('AMEX', 'ARCA', 'BATS', 'NYSE', 'NASDAQ', 'NYSEARCA', 'OTC')),
    constraint instruments_status check (status in ('active', 'inactive')),
    constraint instruments_name_length check (length(name) <= 200)
);

create index instruments_status_exchange on market.instruments (status, exchange);

comment on table market.instruments is 'Assets in Alpaca''s shape; the id is md5(''tradeplane-asset:'' || symbol)::uuid';

-- A small, realistic universe of liquid US equities and ETFs (flags as a broker commonly reports them).
insert into market.instruments (id, symbol, exchange, name, shortable, easy_to_borrow, attributes)
select md5('tradeplane-asset:' || s.symbol)::uuid, s.symbol, s.exchange, s.name, true, true, s.attributes
from (values
    ('AAPL',  'NASDAQ',   'Apple Inc. Common Stock', '{has_options}'::text[]),
    ('MSFT',  'NASDAQ',   'Microsoft Corporation Common Stock', '{has_options}'),
    ('NVDA',  'NASDAQ',   'NVIDIA Corporation Common Stock', '{has_options}'),
    ('AMZN',  'NASDAQ',   'Amazon.com, Inc. Common Stock', '{has_options}'),
    ('GOOGL', 'NASDAQ',   'Alphabet Inc. Class A Common Stock', '{has_options}'),
    ('GOOG',  'NASDAQ',   'Alphabet Inc. Class C Capital Stock', '{has_options}'),
    ('META',  'NASDAQ',   'Meta Platforms, Inc. Class A Common Stock', '{has_options}'),
    ('TSLA',  'NASDAQ',   'Tesla, Inc. Common Stock', '{has_options}'),
    ('AVGO',  'NASDAQ',   'Broadcom Inc. Common Stock', '{has_options}'),
    ('COST',  'NASDAQ',   'Costco Wholesale Corporation Common Stock', '{has_options}'),
    ('NFLX',  'NASDAQ',   'Netflix, Inc. Common Stock', '{has_options}'),
    ('AMD',   'NASDAQ',   'Advanced Micro Devices, Inc. Common Stock', '{has_options}'),
    ('INTC',  'NASDAQ',   'Intel Corporation Common Stock', '{has_options}'),
    ('QQQ',   'NASDAQ',   'Invesco QQQ Trust, Series 1', '{has_options,options_late_close}'),
    ('BRK.B', 'NYSE',     'Berkshire Hathaway Inc. Class B Common Stock', '{has_options}'),
    ('JPM',   'NYSE',     'JPMorgan Chase & Co. Common Stock', '{has_options}'),
    ('V',     'NYSE',     'Visa Inc. Class A Common Stock', '{has_options}'),
    ('JNJ',   'NYSE',     'Johnson & Johnson Common Stock', '{has_options}'),
    ('WMT',   'NYSE',     'Walmart Inc. Common Stock', '{has_options}'),
    ('XOM',   'NYSE',     'Exxon Mobil Corporation Common Stock', '{has_options}'),
    ('UNH',   'NYSE',     'UnitedHealth Group Incorporated Common Stock', '{has_options}'),
    ('PG',    'NYSE',     'Procter & Gamble Company Common Stock', '{has_options}'),
    ('HD',    'NYSE',     'Home Depot, Inc. Common Stock', '{has_options}'),
    ('KO',    'NYSE',     'Coca-Cola Company Common Stock', '{has_options}'),
    ('BAC',   'NYSE',     'Bank of America Corporation Common Stock', '{has_options}'),
    ('SPY',   'NYSEARCA', 'SPDR S&P 500 ETF Trust', '{has_options,options_late_close}'),
    ('IWM',   'NYSEARCA', 'iShares Russell 2000 ETF', '{has_options,options_late_close}'),
    ('DIA',   'NYSEARCA', 'SPDR Dow Jones Industrial Average ETF Trust', '{has_options}'),
    ('GLD',   'NYSEARCA', 'SPDR Gold Shares', '{has_options}'),
    ('TLT',   'NASDAQ',   'iShares 20+ Year Treasury Bond ETF', '{has_options}'),
    ('VTI',   'NYSEARCA', 'Vanguard Total Stock Market ETF', '{has_options}')
) as s(symbol, exchange, name, attributes);
