"""trading.balances: the running cash and reserved totals the triggers keep equal to the book's sums."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tradeplane_tools.migrate import apply_migrations

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"

_SUMS = """
select coalesce((select sum(amount) from trading.cash_ledger where account_id = %(a)s), 0) as cash,
       coalesce((select sum(amount) from trading.reservations where account_id = %(a)s and released_at is null), 0)
         as reserved
"""


def _account(conn: psycopg.Connection) -> uuid.UUID:
    user, account = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "insert into core.users (id, username, password_hash) values (%s, %s, 'scrypt$x')", (user, f"u-{user.hex[:12]}")
    )
    conn.execute(
        "insert into core.accounts (id, owner_id, currency, account_number) values (%s, %s, 'USD', %s)",
        (account, user, f"PA{account.hex[:10].upper()}"),
    )
    return account


def _order(conn: psycopg.Connection, account: uuid.UUID) -> uuid.UUID:
    order = uuid.uuid4()
    conn.execute(
        """insert into trading.orders (id, account_id, client_order_id, symbol, side, type, time_in_force,
               order_class, qty, status, request_hash)
           values (%s, %s, %s, 'AAPL', 'buy', 'limit', 'day', 'simple', 1, 'accepted', 'h')""",
        (order, account, order.hex),
    )
    return order


def _balance(conn: psycopg.Connection, account: uuid.UUID) -> tuple[Decimal, Decimal]:
    row = conn.execute("select cash, reserved from trading.balances where account_id = %s", (account,)).fetchone()
    return (Decimal(0), Decimal(0)) if row is None else (row[0], row[1])


def _sums(conn: psycopg.Connection, account: uuid.UUID) -> tuple[Decimal, Decimal]:
    row = conn.execute(_SUMS, {"a": account}).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.fixture(scope="module")
def conn(pg_dsn: str) -> Iterator[psycopg.Connection]:
    apply_migrations(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as c:
        yield c


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), money),
        st.tuples(st.just("withdrawal"), money),
        st.tuples(st.just("fill"), money, st.booleans()),
        st.tuples(st.just("reserve"), money),
        st.tuples(st.just("release"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("resize"), st.integers(min_value=0, max_value=20), money),
        st.tuples(st.just("unledger"), st.integers(min_value=0, max_value=20)),
        # Set-based writes (the executor's batched path): many rows of both accounts in ONE statement.
        st.tuples(st.just("batch"), st.lists(st.tuples(money, st.booleans(), st.booleans()), min_size=1, max_size=6)),
        st.tuples(st.just("release_all"), st.booleans()),
        st.tuples(st.just("shrink_all"), money),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_sequence_of_book_writes_keeps_the_balance_equal_to_the_sums(
    conn: psycopg.Connection, steps: list[tuple]
) -> None:
    account, other = _account(conn), _account(conn)
    reservations: list[uuid.UUID] = []
    entries: list[uuid.UUID] = []
    for step in steps:
        kind = step[0]
        if kind == "batch":  # fills of both accounts, positive and negative, in one insert
            rows = [(uuid.uuid4(), other if theirs else account, -amount if spend else amount)
                    for amount, spend, theirs in step[1]]  # fmt: skip
            entries.extend(r[0] for r in rows if r[1] == account)
            conn.execute(
                "insert into trading.cash_ledger (id, account_id, entry_type, amount)"
                " select i, a, 'fill', v from unnest(%s::uuid[], %s::uuid[], %s::numeric[]) as x(i, a, v)",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
            )
        elif kind == "release_all":  # every open reservation of the account (or only the first ones) at once
            conn.execute(
                "update trading.reservations set released_at = now() where account_id = %s and released_at is null"
                " and (%s or order_id = any(%s))",
                (account, step[1], reservations[:2]),
            )
        elif kind == "shrink_all":  # draw every reservation down at once (a run of buys spending)
            conn.execute(
                "update trading.reservations set amount = greatest(amount - %s, 0) where account_id = %s",
                (step[1], account),
            )
        elif kind in ("deposit", "withdrawal", "fill"):
            amount = -step[1] if kind == "withdrawal" or (kind == "fill" and step[2]) else step[1]
            entries.append(uuid.uuid4())
            conn.execute(
                "insert into trading.cash_ledger (id, account_id, entry_type, amount) values (%s, %s, %s, %s)",
                (entries[-1], account, kind, amount),
            )
        elif kind == "reserve":
            reservations.append(_order(conn, account))
            conn.execute(
                "insert into trading.reservations (order_id, account_id, amount) values (%s, %s, %s)",
                (reservations[-1], account, step[1]),
            )
        elif kind == "release" and reservations:
            order = reservations[step[1] % len(reservations)]
            conn.execute("update trading.reservations set released_at = now() where order_id = %s", (order,))
        elif kind == "resize" and reservations:
            order = reservations[step[1] % len(reservations)]
            conn.execute("update trading.reservations set amount = %s where order_id = %s", (step[2], order))
        elif kind == "unledger" and entries:
            conn.execute("delete from trading.cash_ledger where id = %s", (entries.pop(step[1] % len(entries)),))
    assert _balance(conn, account) == _sums(conn, account)
    assert _balance(conn, other) == _sums(conn, other)


def test_a_rolled_back_write_leaves_the_balance_alone(conn: psycopg.Connection) -> None:
    account = _account(conn)
    conn.execute(
        "insert into trading.cash_ledger (id, account_id, entry_type, amount) values (%s, %s, 'deposit', 100)",
        (uuid.uuid4(), account),
    )
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        conn.execute(
            "insert into trading.cash_ledger (id, account_id, entry_type, amount) values (%s, %s, 'deposit', 50)",
            (uuid.uuid4(), account),
        )
        conn.execute(  # a withdrawal with the wrong sign: the whole transaction goes
            "insert into trading.cash_ledger (id, account_id, entry_type, amount) values (%s, %s, 'withdrawal', 5)",
            (uuid.uuid4(), account),
        )
    assert _balance(conn, account) == (Decimal(100), Decimal(0))


def _fresh_database(pg_dsn: str) -> str:
    name = "tp_balances_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    return pg_dsn.rsplit("/", 1)[0] + "/" + name


def _deposit_twice_in_one_statement(c: psycopg.Connection, account: uuid.UUID) -> None:
    c.execute(
        "insert into trading.cash_ledger (id, account_id, entry_type, amount)"
        " values (%s, %s, 'deposit', 10), (%s, %s, 'deposit', 5)",
        (uuid.uuid4(), account, uuid.uuid4(), account),
    )


def test_the_statement_level_triggers_roll_back_to_the_row_level_ones(pg_dsn: str) -> None:
    """0023 rolled back: 0020's per-row triggers keep the balance again; applied again: the statement ones."""
    from tradeplane_tools.migrate import yoyo_url
    from yoyo import get_backend, read_migrations

    target = _fresh_database(pg_dsn)
    apply_migrations(target)
    backend, migrations = get_backend(yoyo_url(target)), read_migrations(str(MIGRATIONS))
    with psycopg.connect(target, autocommit=True) as c:
        account = _account(c)
        triggers = "select count(*) from pg_trigger where tgname like 'cash_ledger_balance%%' and not tgisinternal"
        try:
            with backend.lock():
                backend.rollback_migrations(migrations.filter(lambda m: m.id.startswith("0023_")))
            assert c.execute(triggers).fetchone() == (1,)
            _deposit_twice_in_one_statement(c, account)
            assert _balance(c, account) == (Decimal(15), Decimal(0)) == _sums(c, account)
            with backend.lock():
                backend.apply_migrations(backend.to_apply(migrations))
        finally:
            backend.connection.close()
        assert c.execute(triggers).fetchone() == (3,)
        _deposit_twice_in_one_statement(c, account)
        assert _balance(c, account) == (Decimal(30), Decimal(0)) == _sums(c, account)


def test_the_migration_backfills_accounts_that_already_have_a_book(pg_dsn: str, tmp_path: Path) -> None:
    """An existing deployment: the balance table starts equal to what the ledger and reservations say."""
    before = tmp_path / "before"
    before.mkdir()
    for sql in MIGRATIONS.glob("*.sql"):
        if sql.name < "0020":
            shutil.copy(sql, before / sql.name)
    target = _fresh_database(pg_dsn)
    apply_migrations(target, before)
    with psycopg.connect(target, autocommit=True) as c:
        account = _account(c)
        for amount in ("1000", "-250.50"):
            kind = "deposit" if not amount.startswith("-") else "withdrawal"
            c.execute(
                "insert into trading.cash_ledger (id, account_id, entry_type, amount) values (%s, %s, %s, %s)",
                (uuid.uuid4(), account, kind, Decimal(amount)),
            )
        order = _order(c, account)
        c.execute(
            "insert into trading.reservations (order_id, account_id, amount) values (%s, %s, 99)", (order, account)
        )
        apply_migrations(target)
        assert _balance(c, account) == (Decimal("749.50"), Decimal(99)) == _sums(c, account)
