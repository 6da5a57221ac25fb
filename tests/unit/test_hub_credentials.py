"""Unit tests of astrohub_hub.credentials: the password store and the limit on failed attempts."""

from __future__ import annotations

from astrohub_hub.credentials import AttemptLimiter, PasswordStore


def test_a_password_is_set_once_checked_and_never_stored_in_clear(tmp_path):
    store = PasswordStore(tmp_path / "state" / "passwords.sqlite")
    assert (tmp_path / "state" / "passwords.sqlite").stat().st_mode & 0o777 == 0o600
    assert not store.has("bob") and not store.check("bob", "anything")
    assert store.set_first("bob", "bobs-own-pw")
    assert not store.set_first("bob", "taken-over")  # a second registration changes nothing
    assert store.check("bob", "bobs-own-pw") and not store.check("bob", "taken-over")
    assert not store.check("Bob", "bobs-own-pw")  # names are normalised before they get here
    assert b"bobs-own-pw" not in (tmp_path / "state" / "passwords.sqlite").read_bytes()
    assert store.forget("bob") and not store.has("bob") and not store.forget("bob")


def test_failures_block_a_name_for_the_window_and_success_clears_it():
    now = [0.0]
    limiter = AttemptLimiter(max_failures=3, window=60, clock=lambda: now[0])
    for _ in range(2):
        limiter.fail(["user:bob"])
    assert limiter.blocked(["user:bob"]) == 0
    limiter.fail(["user:bob"])
    assert limiter.blocked(["user:bob"]) == 60 and limiter.blocked(["user:ann"]) == 0
    now[0] = 30.0
    assert limiter.blocked(["user:bob"]) == 30
    now[0] = 60.0
    assert limiter.blocked(["user:bob"]) == 0
    limiter.fail(["user:bob"])
    limiter.succeed(["user:bob"])
    assert limiter._failures.get("user:bob") is None
