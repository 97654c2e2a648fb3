"""Secret masking: every kind of secret the platform handles, by field name and by shape inside text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tradeplane.secret_masking import MASK, mask_record, mask_text, sensitive_key

JWT = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1MSIsInNjb3BlIjoiYWRtaW4ifQ.MEUCIQDx-sig_part"
API_SECRET = "n0tR3allyA5ecret-But_43chars_long_xxxxxxxxx"
REFRESH = "Zq7-refresh_token_value_9b3f00aa11bb22cc33dd44"


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (f"token {JWT} rejected", JWT, "token "),  # a JWT anywhere
        (f"Authorization: Bearer {JWT}", JWT, "Authorization: Bearer"),
        ("Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy", "Basic"),
        ("postgresql://tradeplane:S3cr3t!pw@db.internal:5432/tp", "S3cr3t!pw", "postgresql://tradeplane:"),
        ("redis://:redisAuthT0ken@cache:6379/0", "redisAuthT0ken", "@cache:6379"),
        ("host=db port=5432 user=tp password=libpqPw dbname=tp", "libpqPw", "dbname=tp"),
        ("host=db password='quoted pw' dbname=tp", "quoted pw", "dbname=tp"),
        (f"APCA-API-SECRET-KEY: {API_SECRET}", API_SECRET, "APCA-API-SECRET-KEY"),
        (f'{{"username": "ann", "password": "hunter2", "refresh_token": "{REFRESH}"}}', "hunter2", '"username": "ann"'),
        (f'{{"refresh_token": "{REFRESH}"}}', REFRESH, "refresh_token"),
        (f"/v1/auth/token?grant_type=refresh&refresh_token={REFRESH}&x=1", REFRESH, "&x=1"),
        (f"client_secret={API_SECRET}", API_SECRET, "client_secret="),
        ("api_key=abc123def456", "abc123def456", "api_key="),
    ],
)
def test_secret_in_text_is_masked(text: str, secret: str, kept: str) -> None:
    masked = mask_text(text)
    assert secret not in masked and MASK in masked
    assert kept in masked  # the rest of the line stays readable


@pytest.mark.parametrize(
    "key",
    ["password", "db_password", "newPassword", "secret", "api_secret", "secret_key", "APCA-API-SECRET-KEY",
     "refresh_token", "access_token", "token", "Authorization", "cookie", "private_key", "client_secret",
     "credentials", "passphrase"],
)  # fmt: skip
def test_secret_fields_are_replaced_whole(key: str) -> None:
    assert sensitive_key(key)
    assert mask_record({key: "anything at all", "n": 1}) == {key: MASK, "n": 1}
    assert mask_record({key: {"nested": "x"}})[key] == MASK


@pytest.mark.parametrize(
    "key", ["api_key_id", "key_id", "kid", "token_use", "symbol", "order_id", "account_id", "message", "db_secret_id"]
)
def test_ordinary_fields_are_kept(key: str) -> None:
    assert not sensitive_key(key)
    assert mask_record({key: "PKABC"}) == {key: "PKABC"}


def test_nested_records_and_lists_are_masked() -> None:
    record = {"request": {"headers": [{"authorization": f"Bearer {JWT}"}], "dsn": "postgres://u:pw9@h/d"}}
    masked = mask_record(record)
    assert masked == {"request": {"headers": [{"authorization": MASK}], "dsn": "postgres://u:***@h/d"}}
    assert record["request"]["dsn"] == "postgres://u:pw9@h/d"  # the caller's dict is untouched


def test_text_without_secrets_is_unchanged() -> None:
    for text in ("order accepted", "GET /v2/orders 200", "symbol=AAPL qty=5", "https://example.com/path", ""):
        assert mask_text(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_password_pair_never_survives_whatever_surrounds_it(noise: str) -> None:
    assert "pw-Zx81" not in mask_text(f"{noise} password=pw-Zx81 {noise}")
