drop trigger if exists reservations_balance_delete on trading.reservations;
drop trigger if exists reservations_balance_update on trading.reservations;
drop trigger if exists reservations_balance_insert on trading.reservations;
drop trigger if exists cash_ledger_balance_delete on trading.cash_ledger;
drop trigger if exists cash_ledger_balance_update on trading.cash_ledger;
drop trigger if exists cash_ledger_balance_insert on trading.cash_ledger;
drop function if exists trading.reservation_rows_to_balance();
drop function if exists trading.ledger_rows_to_balance();
drop function if exists trading.add_to_balances(uuid[], numeric[], numeric[]);

-- Back to 0020's row-level triggers (their functions were kept).
create trigger cash_ledger_balance after insert or update or delete on trading.cash_ledger
    for each row execute function trading.ledger_to_balance();
create trigger reservations_balance after insert or update or delete on trading.reservations
    for each row execute function trading.reservation_to_balance();
