-- The balance triggers of 0020 fire once per row: a set-based write of a thousand ledger entries or
-- reservation changes (the executor's batched path) called `add_to_balance` a thousand times. These fire
-- once per statement and read the statement's rows from transition tables: the rows' deltas are summed
-- per account and each account's balance row is updated once, in account id order (the order every
-- writer takes account rows in). The row-level functions of 0020 stay for the rollback.
-- depends: 0022_trading_venues

-- Sum the deltas per account; one update (or first insert) per account, sorted by account id.
create function trading.add_to_balances(accounts uuid[], cash_deltas numeric[], reserved_deltas numeric[])
returns void language plpgsql as $$
declare
    d record;
begin
    for d in
        select x.account_id, sum(x.cash) as cash, sum(x.reserved) as reserved
          from unnest(accounts, cash_deltas, reserved_deltas) as x(account_id, cash, reserved)
         group by x.account_id
        having sum(x.cash) <> 0 or sum(x.reserved) <> 0
         order by x.account_id
    loop
        perform trading.add_to_balance(d.account_id, d.cash, d.reserved);
    end loop;
end $$;

-- One function per table; each trigger binds only the transition tables its event has, and PL/pgSQL
-- plans a statement when it first runs it, so a branch for another event never touches a missing one.
create function trading.ledger_rows_to_balance() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform trading.add_to_balances(array_agg(account_id), array_agg(amount), array_agg(0::numeric))
           from new_rows;
    elsif tg_op = 'DELETE' then
        perform trading.add_to_balances(array_agg(account_id), array_agg(-amount), array_agg(0::numeric))
           from old_rows;
    else
        perform trading.add_to_balances(array_agg(account_id), array_agg(amount), array_agg(0::numeric))
           from (select account_id, -amount as amount from old_rows
                 union all select account_id, amount from new_rows) as changed;
    end if;
    return null;
end $$;

-- Only open reservations (released_at is null) count towards `reserved`.
create function trading.reservation_rows_to_balance() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform trading.add_to_balances(array_agg(account_id), array_agg(0::numeric), array_agg(amount))
           from new_rows where released_at is null;
    elsif tg_op = 'DELETE' then
        perform trading.add_to_balances(array_agg(account_id), array_agg(0::numeric), array_agg(-amount))
           from old_rows where released_at is null;
    else
        perform trading.add_to_balances(array_agg(account_id), array_agg(0::numeric), array_agg(amount))
           from (select account_id, -amount as amount from old_rows where released_at is null
                 union all select account_id, amount from new_rows where released_at is null) as changed;
    end if;
    return null;
end $$;

drop trigger cash_ledger_balance on trading.cash_ledger;
drop trigger reservations_balance on trading.reservations;

create trigger cash_ledger_balance_insert after insert on trading.cash_ledger
    referencing new table as new_rows for each statement execute function trading.ledger_rows_to_balance();
create trigger cash_ledger_balance_update after update on trading.cash_ledger
    referencing old table as old_rows new table as new_rows
    for each statement execute function trading.ledger_rows_to_balance();
create trigger cash_ledger_balance_delete after delete on trading.cash_ledger
    referencing old table as old_rows for each statement execute function trading.ledger_rows_to_balance();

create trigger reservations_balance_insert after insert on trading.reservations
    referencing new table as new_rows for each statement execute function trading.reservation_rows_to_balance();
create trigger reservations_balance_update after update on trading.reservations
    referencing old table as old_rows new table as new_rows
    for each statement execute function trading.reservation_rows_to_balance();
create trigger reservations_balance_delete after delete on trading.reservations
    referencing old table as old_rows for each statement execute function trading.reservation_rows_to_balance();
