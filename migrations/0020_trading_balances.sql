-- A running balance per account, kept by triggers on the ledger and the reservations, so that a
-- submit reads cash and reserved cash in O(1) instead of summing the account's whole history.
-- The ledger stays the record (the balance can always be recomputed from it; a test compares them);
-- triggers keep every writer (Core API, execution, migrations, an operator's psql) consistent without
-- any of them knowing the table exists. Increments are atomic row updates, so concurrent writers on
-- one account serialise on this row only for the instant of the update.
-- depends: 0006_trading_book

create table trading.balances (
    account_id uuid           primary key references core.accounts (id),
    cash       numeric(20, 2) not null default 0,
    reserved   numeric(20, 2) not null default 0 check (reserved >= 0)
);

insert into trading.balances (account_id, cash, reserved)
select a.id,
       coalesce((select sum(amount) from trading.cash_ledger c where c.account_id = a.id), 0),
       coalesce((select sum(amount) from trading.reservations r where r.account_id = a.id and r.released_at is null), 0)
from core.accounts a;

-- Update first: an INSERT .. ON CONFLICT would check the proposed row (e.g. a negative reserved delta)
-- against the constraints before finding the conflict. The insert is for an account's first entry.
create function trading.add_to_balance(account uuid, cash_delta numeric, reserved_delta numeric) returns void
language plpgsql as $$
begin
    update trading.balances set cash = cash + cash_delta, reserved = reserved + reserved_delta
     where account_id = account;
    if not found then
        insert into trading.balances as b (account_id, cash, reserved) values (account, cash_delta, reserved_delta)
        on conflict (account_id) do update set cash = b.cash + excluded.cash, reserved = b.reserved + excluded.reserved;
    end if;
end $$;

create function trading.ledger_to_balance() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        perform trading.add_to_balance(old.account_id, -old.amount, 0);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        perform trading.add_to_balance(new.account_id, new.amount, 0);
    end if;
    return null;
end $$;

create function trading.reservation_to_balance() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.released_at is null then
        perform trading.add_to_balance(old.account_id, 0, -old.amount);
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.released_at is null then
        perform trading.add_to_balance(new.account_id, 0, new.amount);
    end if;
    return null;
end $$;

create trigger cash_ledger_balance after insert or update or delete on trading.cash_ledger
    for each row execute function trading.ledger_to_balance();
create trigger reservations_balance after insert or update or delete on trading.reservations
    for each row execute function trading.reservation_to_balance();
