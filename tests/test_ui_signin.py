"""The sign-in gate and the Admin page under AppTest: real accounts, real ledger, real service."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from agent_app.auth import open_accounts
from agent_app.auth.passwords import Passwords
from agent_app.ui.state import K_IDENTITY, SERVICE_KEY
from agent_app.wiring import open_service

pytestmark = pytest.mark.integration
APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def team(settings):
    """A password-mode service with an admin (alice) and a member (bob) who owns a conversation."""
    s = settings.with_overrides(auth="password", lang="en")
    accounts = open_accounts(
        s, Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    )
    accounts.add_user("alice", "alice-password", is_admin=True)
    accounts.add_user("bob", "bob-password")
    svc = open_service(s, tools=[], accounts=accounts)
    svc.rename_thread("bob", svc.new_thread("bob").id, "bob's secret plans")
    yield svc
    svc.close()


def _app(svc) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = "en"
    return at.run()


def _texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").set_value(name)
    at.text_input(key="signin_password").set_value(password)
    return at.button[0].click().run()


def test_unauthenticated_visitors_see_only_the_sign_in_page(team):
    at = _app(team)
    assert not at.exception
    assert "Sign in" in _texts(at)
    assert len(at.chat_input) == 0 and "bob's secret plans" not in _texts(at) + str(at.sidebar)
    at.query_params["thread"] = team.list_threads("bob")[0].id  # a copied URL does not help
    at.run()
    assert len(at.chat_input) == 0 and "bob's secret plans" not in _texts(at)


def test_wrong_name_and_wrong_password_get_one_message(team):
    at = _app(team)
    wrong_password = _texts(_sign_in(at, "bob", "not-bobs-password"))
    at = _app(team)
    wrong_name = _texts(_sign_in(at, "robert", "not-bobs-password"))
    assert "Wrong user name or password." in wrong_password
    assert wrong_password == wrong_name
    assert len(at.chat_input) == 0


def test_lock_out_after_repeated_failures(team):
    at = _app(team)
    for i in range(team.settings.login_max_failures):
        _sign_in(at, "bob", f"guess-{i}")
    assert "Too many failed attempts" in _texts(at)
    _sign_in(at, "bob", "bob-password")  # even the right password waits out the lock
    assert len(at.chat_input) == 0


def test_sign_in_shows_only_own_conversations_then_sign_out(team):
    at = _sign_in(_app(team), "bob", "bob-password")
    assert not at.exception and len(at.chat_input) == 1
    assert "Signed in as **bob**" in _texts(at)
    alice = _sign_in(_app(team), "alice", "alice-password")
    assert "bob's secret plans" not in str(alice.sidebar) + _texts(alice)
    at.button(key="sign_out").click().run()
    assert len(at.chat_input) == 0 and "Sign in" in _texts(at)


def test_a_disabled_users_live_session_ends_at_its_next_action(team):
    at = _sign_in(_app(team), "bob", "bob-password")
    assert len(at.chat_input) == 1
    team.accounts.set_disabled("bob")
    at.chat_input[0].set_value("still there?").run()
    assert len(at.chat_input) == 0 and "Your session has ended" in _texts(at)
    assert team.messages("bob", team.list_threads("bob")[0].id) == []  # nothing was sent


def _admin_page(svc, identity) -> AppTest:
    def script() -> None:
        from agent_app.ui.pages import admin

        admin.page()

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = "en"
    at.session_state[K_IDENTITY] = identity
    return at.run()


def test_admin_page_refuses_members(team):
    bob = team.accounts.identity(team.accounts.get("bob"))
    at = _admin_page(team, bob)
    assert "This page is for administrators." in _texts(at) and not at.dataframe


def test_admin_page_users_usage_chart_and_budget_override(team):
    from agent_app import events as ev

    team.budget.record("bob", ev.Usage(1200, 300, 10.0, "qwen-plus"))
    team.budget.record("alice", ev.Usage(50, 50, 10.0, "qwen-plus"))
    alice = team.accounts.identity(team.accounts.get("alice"))
    at = _admin_page(team, alice)
    assert not at.exception
    users = at.dataframe[0].value
    assert list(users.iloc[:, 0]) == ["alice", "bob"] and list(users["Tokens today"]) == [100, 1500]
    assert at.get("vega_lite_chart"), "usage is a chart, not only a table"
    at.selectbox(key="admin_pick").set_value("bob").run()
    at.number_input(key="admin_tok_bob").set_value(5000)  # inside a form: sent with the submit
    at.button[[b.label for b in at.button].index("Save budget")].click().run()
    assert team.budget.limits_for("bob").daily_tokens == 5000
    at.button(key="admin_toggle_disabled").click().run()
    assert team.accounts.get("bob").disabled
    assert at.button(key="admin_toggle_disabled").label == "Enable"
    me = at.selectbox(key="admin_pick").set_value("alice").run()
    assert me.button(key="admin_toggle_disabled").disabled  # no locking yourself out


def test_add_user_from_the_admin_page(team):
    alice = team.accounts.identity(team.accounts.get("alice"))
    at = _admin_page(team, alice)
    at.text_input(key="admin_new_name").set_value("carol")
    at.text_input(key="admin_new_password").set_value("carol-password")
    at.button[[b.label for b in at.button].index("Add user")].click().run()
    assert team.accounts.authenticate("carol", "carol-password").status == "ok"


def test_an_open_public_instance_with_a_key_refuses_to_serve(settings):
    from tests.conftest import CANARY

    keyed = settings.with_overrides(dashscope_api_key=CANARY, lang="en")  # AppTest: no address set
    svc = open_service(keyed, tools=[])
    at = _app(svc)
    assert "refuses" not in _texts(at) and "does not serve anyone" in _texts(at)
    assert len(at.chat_input) == 0 and CANARY not in _texts(at)
    svc.close()
    opened = open_service(keyed.with_overrides(allow_open=True), tools=[])
    at = _app(opened)
    assert "Open instance" in _texts(at) and len(at.chat_input) == 1
    opened.close()


def _oidc_app(svc, claims: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = "en"
    at.user = claims
    return at.run()


def test_oidc_sign_in_keys_data_by_subject_not_email(settings):
    from agent_app.auth.oidc import oidc_user

    claims = {
        "is_logged_in": True,
        "sub": "g-1234",
        "iss": "https://accounts.google.com",
        "email": "alice@example.com",
        "name": "Alice",
    }
    user_id = oidc_user(claims)[0]
    svc = open_service(settings.with_overrides(auth="oidc", lang="en", admins=user_id), tools=[])
    svc.rename_thread(user_id, svc.new_thread(user_id).id, "alice's roadmap")
    logged_out = _oidc_app(svc, {"is_logged_in": False})
    assert len(logged_out.chat_input) == 0 and logged_out.button(key="signin_sso")
    at = _oidc_app(svc, claims)
    assert not at.exception and len(at.chat_input) == 1
    assert "alice's roadmap" in str(at.sidebar) + _texts(at)
    renamed = _oidc_app(svc, {**claims, "email": "alice@new.example.com"})  # same subject
    assert "alice's roadmap" in str(renamed.sidebar) + _texts(renamed)
    stranger = _oidc_app(svc, {**claims, "sub": "g-9999"})  # same e-mail, another subject
    assert "alice's roadmap" not in str(stranger.sidebar) + _texts(stranger)
    assert (
        svc.accounts.get(user_id).name == "alice@example.com"
        and svc.accounts.identity(svc.accounts.get(user_id)).is_admin
    )
    svc.accounts.set_disabled(user_id)
    blocked = _oidc_app(svc, claims)
    assert "This account is disabled" in _texts(blocked) and len(blocked.chat_input) == 0
    svc.close()


def test_header_mode_without_a_trusted_proxy_reaches_nothing(settings):
    svc = open_service(
        settings.with_overrides(auth="header", lang="en", trusted_proxies="10.9.9.9/32"), tools=[]
    )
    at = _app(svc)
    assert "You are not signed in" in _texts(at) and len(at.chat_input) == 0
    svc.close()
