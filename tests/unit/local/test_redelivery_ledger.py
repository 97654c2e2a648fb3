"""The chaos driver's redelivery accounting: every record that comes again is explained by a failed attempt."""

from __future__ import annotations

from typing import Any

from tradeplane_local.host import InvokeResult
from tradeplane_local.redeliveries import RedeliveryLedger, Tally

CRASH = InvokeResult(False, "r", error={"errorType": "Runtime.ExitError", "errorMessage": "exit status -9"})


def batch(partition: int, first: int, last: int) -> dict[str, Any]:
    records = [{"topic": "market.ticks", "partition": partition, "offset": o} for o in range(first, last + 1)]
    return {"records": {f"market.ticks-{partition}": records}}


def answer(duplicates: int) -> InvokeResult:
    return InvokeResult(True, "r", result={"applied": 0, "duplicates": duplicates})


def test_a_kill_after_the_commit_explains_its_retry_s_duplicates() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(0, 0, 99), answer(0))
    ledger.count(batch(1, 0, 331), CRASH)  # committed, then killed before answering
    ledger.count(batch(1, 0, 331), answer(332))
    assert ledger.tally == Tally(failed_records=332, redelivered=332, duplicates=332)
    assert ledger.notes == []


def test_a_retry_killed_too_counts_its_records_failed_twice_and_redelivered_once() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(2, 10, 19), CRASH)
    ledger.count(batch(2, 10, 19), CRASH)
    ledger.count(batch(2, 10, 19), answer(10))
    assert ledger.tally == Tally(failed_records=20, redelivered=10, duplicates=10)


def test_records_of_an_answered_invocation_handed_over_again_are_flagged() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(3, 0, 9), answer(0))
    ledger.count(batch(3, 0, 9), answer(10))  # no failure in between: the source redelivered an answered batch
    assert ledger.tally == Tally(duplicates=10, answered_again=10, unexplained=10)
    assert ledger.notes == [
        "market.ticks[3]@0..9 answered: 10 records handed over again after an answer, "
        "10 duplicates not redelivered after a failure"
    ]


def test_duplicates_beyond_what_the_invocation_redelivered_are_unexplained() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(4, 0, 1), CRASH)
    ledger.count(batch(4, 0, 4), answer(3))  # two records came back after the crash, but three were duplicates
    assert ledger.tally == Tally(failed_records=2, redelivered=2, duplicates=3, unexplained=1)


def test_a_redelivery_is_explained_once_per_failure() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(5, 0, 4), CRASH)
    ledger.count(batch(5, 0, 4), answer(5))
    ledger.count(batch(5, 0, 4), answer(5))  # the failure explained the first redelivery, not this one
    assert ledger.tally == Tally(failed_records=5, redelivered=5, duplicates=10, answered_again=5, unexplained=5)


def test_an_answered_record_in_a_failed_invocation_is_flagged_when_handed_over() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(0, 0, 4), answer(0))
    ledger.count(batch(0, 0, 4), CRASH)  # handed over again after its answer (then the container died)
    ledger.count(batch(0, 0, 4), answer(5))  # this retry is explained by the crash
    assert ledger.tally == Tally(failed_records=5, redelivered=5, duplicates=5, answered_again=5)


def test_a_round_s_figures_are_the_difference_of_two_tallies() -> None:
    ledger = RedeliveryLedger()
    ledger.count(batch(1, 0, 9), CRASH)
    before = ledger.tally
    ledger.count(batch(1, 0, 9), answer(10))
    assert ledger.tally - before == Tally(redelivered=10, duplicates=10)
