drop table if exists trading.equity_snapshots, trading.outbox, trading.positions, trading.fills,
    trading.cash_ledger, trading.reservations, trading.orders;
