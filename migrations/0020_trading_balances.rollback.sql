drop trigger if exists reservations_balance on trading.reservations;
drop trigger if exists cash_ledger_balance on trading.cash_ledger;
drop function if exists trading.reservation_to_balance();
drop function if exists trading.ledger_to_balance();
drop function if exists trading.add_to_balance(uuid, numeric, numeric);
drop table if exists trading.balances;
