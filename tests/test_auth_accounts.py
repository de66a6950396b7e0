"""Password accounts on real SQLite and PostgreSQL + Argon2: sign-in, lock-out, sessions, disabled users."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher

from agent_app.auth import open_accounts
from agent_app.auth.accounts import AccountError
from agent_app.auth.passwords import Passwords

pytestmark = pytest.mark.unit


class CountingHasher(PasswordHasher):
    """A cheap Argon2 that counts verifies, so both wrong paths can be compared call for call."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifies: list[str] = []

    def verify(self, hash, password):  # noqa: A002 - argon2's own signature
        self.verifies.append(hash)
        return super().verify(hash, password)


@pytest.fixture
def hasher():
    return CountingHasher()


@pytest.fixture
def accounts(db_settings, hasher):
    settings = db_settings.with_overrides(auth="password", login_max_failures=3)
    store = open_accounts(settings, Passwords(hasher))
    store.add_user("Alice", "correct horse", is_admin=True)
    store.add_user("bob", "battery staple")
    yield store
    store.close()


def test_right_password_signs_in_with_a_session(accounts):
    result = accounts.authenticate("ALICE", "correct horse")
    assert result.status == "ok" and result.identity.user_id == "alice" and result.identity.is_admin
    assert accounts.session(result.token) == result.identity
    assert accounts.session("forged-token") is None


def test_wrong_user_and_wrong_password_look_the_same_and_cost_one_verify_each(accounts, hasher):
    hasher.verifies.clear()
    wrong_password = accounts.authenticate("alice", "not it at all")
    after_known = len(hasher.verifies)
    wrong_user = accounts.authenticate("mallory", "not it at all")
    assert wrong_password == wrong_user  # same status, no identity, no token, no hint
    assert wrong_password.status == "invalid" and wrong_password.token is None
    assert after_known == 1 and len(hasher.verifies) == 2
    # the unknown name was checked against a real Argon2 hash with the same parameters
    assert hasher.verifies[1].startswith("$argon2id$") and hasher.verifies[1] != hasher.verifies[0]
    assert hasher.verifies[1].split("$")[3] == hasher.verifies[0].split("$")[3]


def test_lockout_after_n_failures_survives_a_restart(accounts, db_settings, hasher):
    statuses = [accounts.authenticate("bob", f"guess {i}").status for i in range(3)]
    assert statuses == ["invalid", "invalid", "locked"]
    accounts.close()
    again = open_accounts(
        db_settings.with_overrides(auth="password", login_max_failures=3), Passwords(hasher)
    )
    hasher.verifies.clear()
    result = again.authenticate("bob", "battery staple")  # the right password, but locked
    assert result.status == "locked" and result.token is None and result.retry_after_s > 60
    assert hasher.verifies == []  # a locked name is not even checked
    again.close()


def test_unknown_names_lock_out_too(accounts):
    assert [accounts.authenticate("nobody", "x" * 9).status for _ in range(3)][-1] == "locked"


def test_success_resets_the_failure_count(accounts):
    accounts.authenticate("bob", "wrong one")
    accounts.authenticate("bob", "wrong two")
    assert accounts.authenticate("bob", "battery staple").status == "ok"
    assert accounts.authenticate("bob", "wrong three").status == "invalid"


def test_disabled_user_gets_the_generic_answer_and_live_sessions_end(accounts):
    token = accounts.authenticate("bob", "battery staple").token
    assert accounts.session(token) is not None
    accounts.set_disabled("bob")
    assert accounts.session(token) is None
    assert accounts.authenticate("bob", "battery staple").status == "invalid"
    accounts.set_disabled("bob", False)
    assert accounts.authenticate("bob", "battery staple").status == "ok"


def test_sessions_expire(db_settings, hasher):
    store = open_accounts(
        db_settings.with_overrides(auth="password", session_hours=0.5 / 3600), Passwords(hasher)
    )
    store.add_user("carol", "long enough")
    token = store.authenticate("carol", "long enough").token
    assert store.session(token) is not None
    time.sleep(0.6)
    assert store.session(token) is None
    store.close()


def test_reset_password_ends_sessions_and_old_password_stops_working(accounts):
    token = accounts.authenticate("bob", "battery staple").token
    accounts.reset_password("bob", "a brand new one")
    assert accounts.session(token) is None
    assert accounts.authenticate("bob", "battery staple").status == "invalid"
    assert accounts.authenticate("bob", "a brand new one").status == "ok"


def test_bad_names_short_passwords_and_duplicates_are_refused(accounts):
    for name, password in (("no spaces", "long enough"), ("dave", "short"), ("BOB", "long enough")):
        with pytest.raises(AccountError):
            accounts.add_user(name, password)
    with pytest.raises(AccountError):
        accounts.set_disabled("nobody")


def test_no_hash_or_password_is_stored_in_clear(accounts, db_settings):
    if db_settings.database_url is None:
        data_dir = db_settings.data_dir
        raw = (data_dir / "users.db").read_bytes() + (data_dir / "users.db-wal").read_bytes()
    else:  # every row of the table as text
        raw = repr(accounts.backend.execute("SELECT * FROM users").fetchall()).encode()
    assert b"correct horse" not in raw and b"$argon2id$" in raw
    assert "pw_hash" not in accounts.get("alice").to_dict()


def test_external_identities_are_keyed_by_id_and_can_be_disabled(accounts, data_dir):
    first = accounts.external("oidc:sub-1", "alice@example.com", "oidc")
    same_mail = accounts.external("oidc:sub-2", "alice@example.com", "oidc")
    assert first.user_id != same_mail.user_id and not first.is_admin
    accounts.set_disabled("oidc:sub-1")
    assert accounts.external("oidc:sub-1", "alice@example.com", "oidc") is None
    assert accounts.authenticate("alice@example.com", "anything!").status == "invalid"


def test_one_address_spraying_many_names_is_locked_out(db_settings, hasher):
    """Anonymous traffic from one client: every name it tries is new, so only the address counts."""
    settings = db_settings.with_overrides(
        auth="password", login_max_failures=3, login_max_failures_per_address=5
    )
    store = open_accounts(settings, Passwords(hasher))
    store.add_user("carol", "carol password 1")
    statuses = [
        store.authenticate(f"guess{i}", "x" * 9, peer="203.0.113.7").status for i in range(5)
    ]
    assert statuses == ["invalid"] * 4 + ["locked"]
    hasher.verifies.clear()
    locked = store.authenticate("carol", "carol password 1", peer="203.0.113.7")
    assert locked.status == "locked" and locked.token is None and hasher.verifies == []
    # another client is not punished for it, and the account itself is not locked
    assert store.authenticate("carol", "carol password 1", peer="198.51.100.2").status == "ok"
    store.close()


def test_the_client_behind_a_trusted_proxy_is_the_forwarded_address(db_settings):
    from agent_app.auth.proxy import client_address

    settings = db_settings.with_overrides(trusted_proxies="10.0.0.0/8")
    forwarded = {"X-Forwarded-For": "203.0.113.7, 10.0.0.2"}
    assert client_address(forwarded, "10.0.0.2", settings) == "203.0.113.7"
    assert client_address(forwarded, "198.51.100.2", settings) == "198.51.100.2"  # not trusted
    assert client_address({"X-Forwarded-For": "junk"}, "10.0.0.2", settings) == "10.0.0.2"
