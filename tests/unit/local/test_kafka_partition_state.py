"""A partition's offsets in the Kafka source: contiguous hand-over, skipped ranges, requeue; safe text."""

from __future__ import annotations

import pytest
from tradeplane_local.events import KafkaRecord
from tradeplane_local.kafka_source import OffsetOrderError, PartitionState, safe_text


def rec(offset: int) -> KafkaRecord:
    return KafkaRecord("t", 0, offset, 0, None, b"v")


def filled(start: int, end: int) -> PartitionState:
    state = PartitionState.starting_at(0, start)
    for o in range(start, end):
        state.accept(rec(o), now=0.0)
    return state


def test_only_the_next_offset_is_taken() -> None:
    state = filled(5, 8)
    with pytest.raises(OffsetOrderError):
        state.accept(rec(9), now=0.0)  # a gap is never buffered
    with pytest.raises(OffsetOrderError):
        state.accept(rec(7), now=0.0)  # nor a replay
    assert [r.offset for r in state.buffer] == [5, 6, 7] and state.next_offset == 8


def test_batches_close_on_size_or_window_and_one_is_in_flight() -> None:
    state = filled(0, 5)
    assert state.take_batch(10, window_s=1.0, now=0.5) is None  # window still open
    batch = state.take_batch(3, window_s=1.0, now=0.5)  # full
    assert batch is not None and [r.offset for r in batch] == [0, 1, 2]
    assert state.take_batch(3, window_s=0.0, now=2.0) is None  # one batch per partition in flight


def test_delivered_moves_only_contiguously_and_over_skipped_ranges() -> None:
    state = filled(0, 4)
    with pytest.raises(OffsetOrderError):
        state.mark_delivered([rec(2), rec(3)])  # 0 and 1 were not handed over
    assert state.delivered == 0
    state.skip_to(10)  # offsets 4..9 never came back from the broker
    state.accept(rec(10), now=0.0)
    state.mark_delivered([rec(0), rec(1), rec(2), rec(3)])
    assert state.delivered == 10  # the logged skip is passed once the records before it are handled
    state.mark_delivered([rec(10)])
    assert state.delivered == 11


def test_requeue_puts_back_only_what_was_not_handled() -> None:
    state = filled(0, 6)
    batch = state.take_batch(4, window_s=0.0, now=0.0)
    assert batch is not None
    state.mark_delivered(batch[:2])  # the first half went through, then the batch failed
    state.in_flight = False
    state.requeue(batch, retry_at=5.0)
    assert [r.offset for r in state.buffer] == [2, 3, 4, 5]
    assert state.take_batch(4, window_s=0.0, now=1.0) is None  # backing off
    again = state.take_batch(4, window_s=0.0, now=5.0)
    assert again is not None and again[0].offset == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("two\nlines", "two\\nlines"),
        ("\x1b[31mred\u202e", "\\u001b[31mred\\u202e"),
    ],
)
def test_safe_text_escapes(text: str, expected: str) -> None:
    assert safe_text(text) == expected


def test_safe_text_bounds_long_input_and_says_how_long_it_was() -> None:
    out = safe_text("x" * 5000 + "\n", limit=50)
    assert out == "x" * 50 + "...[5001 chars]"
