"""Who is using the app: accounts, sessions and the four sign-in modes."""

from agent_app.auth.accounts import AccountStore, LoginResult, open_accounts
from agent_app.auth.identity import Identity, local_identity

__all__ = ["AccountStore", "Identity", "LoginResult", "local_identity", "open_accounts"]
