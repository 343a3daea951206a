"""Who uses this session and what they may do: sign-in, reviewers, roles, server folders.

Everything here reads the operator's settings (``.streamlit/secrets.toml``: Streamlit's
``[auth]`` and the app's ``[augment_review]`` section) on every call, so a reviewer taken off
the list or a role taken away takes effect at the next click, in every open tab. The rules
themselves are plain functions in ``augment_core.serve`` (no Streamlit); this module is where
the app asks them about the signed-in user, and the only place that reads the secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import streamlit as st

from app_support.markup import markdown_code, markdown_escape, show_error
from app_support.store import get_store
from augment_core.review.schema import LOCAL_REVIEWER
from augment_core.serve import access as serve_access
from augment_core.serve import policy, server_paths
from augment_core.serve.policy import Action, User

APP_SECRETS = "augment_review"
"""The app's own section of ``.streamlit/secrets.toml`` (beside Streamlit's ``[auth]``)."""
ALLOW_KEY = "allowed_users"
"""In :data:`APP_SECRETS`: the e-mail addresses and ``@domains`` that may sign in (see
:mod:`augment_core.serve.access`); absent or empty: anyone the identity provider signs in."""


class NotSignedIn(RuntimeError):
    """A decision was about to be written with sign-in configured and nobody signed in."""


def read_secrets() -> tuple[Mapping[str, Any], str]:
    """(the secrets, "") or ({}, why they cannot be read). No secrets file at all is no
    error: single-user mode."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        return {k: st.secrets[k] for k in st.secrets}, ""
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}, ""
        return {}, str(exc)


def app_settings() -> Mapping[str, Any]:
    """The app's own section for the server's settings (limits, the cache's budget): {} when
    the secrets cannot be read or the section is not one (the sign-in gate reports both)."""
    secrets, _error = read_secrets()
    try:
        return _section(secrets)
    except serve_access.AllowListError:
        return {}


def _section(secrets: Mapping[str, Any]) -> Mapping[str, Any]:
    """The app's own section of the secrets ({} when absent); AllowListError when it is not one."""
    section = secrets.get(APP_SECRETS) or {}
    if not isinstance(section, Mapping):
        raise serve_access.AllowListError(f"[{APP_SECRETS}] must be a section of settings")
    return section


def _allow_list(secrets: Mapping[str, Any]) -> tuple[str, ...]:
    """The allow-list in the secrets (empty: none); raises AllowListError when it is malformed."""
    return serve_access.parse_allow_list(_section(secrets).get(ALLOW_KEY))


def _settings_problem(secrets: Mapping[str, Any]) -> str:
    """Why the app's settings cannot be read ("" when they can): a malformed allow-list,
    admins list or server folders keeps a served app closed rather than guessing."""
    try:
        section = _section(secrets)
        if "auth" in secrets:
            serve_access.parse_allow_list(section.get(ALLOW_KEY))
            policy.parse_admins(section.get(policy.ADMINS_KEY))
        server_paths.parse_dirs(section.get(server_paths.DIRS_KEY))
    except (serve_access.AllowListError, server_paths.ServerDirsError) as exc:
        return str(exc)
    return ""


def auth_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (sign-in required)."""
    secrets, error = read_secrets()
    return bool(error) or "auth" in secrets  # an unreadable secrets file keeps the app closed


def signed_in_email() -> str | None:
    """The signed-in user's e-mail address, normalised; None when nobody is signed in."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    if user.get("email_verified") is False:
        return None
    return serve_access.normalize_email(user.get("email"))


def reviewer() -> str:
    """Whose decisions this session reads and writes: the signed-in e-mail, or ``"local"``
    without sign-in. Pages and callbacks only run past :func:`sign_in_gate`, so with sign-in
    someone allowed is signed in; :class:`NotSignedIn` otherwise (nothing is written)."""
    secrets, error = read_secrets()
    if not error and "auth" not in secrets:
        return LOCAL_REVIEWER
    email = signed_in_email()
    if email is None or error:
        raise NotSignedIn("sign in to decide")
    try:
        allow_list = _allow_list(secrets)
    except serve_access.AllowListError as exc:
        raise NotSignedIn(str(exc)) from exc
    if not serve_access.is_allowed(email, allow_list):  # taken off the list while a tab was open
        raise NotSignedIn(f"{email} is not on this server's list of reviewers")
    return email


def _sign_in_page(title: str, lines: list[str], sign_in: bool, sign_out: bool) -> None:
    st.title(title)
    for line in lines:
        st.markdown(line)
    if sign_in and st.button("Sign in", type="primary", icon=":material/login:", key="app_sign_in"):
        from streamlit.errors import StreamlitAuthError

        try:
            st.login()
        except StreamlitAuthError as exc:
            st.error("Sign-in is not set up correctly in .streamlit/secrets.toml: " + markdown_code(str(exc)),
                     icon=":material/error:")
    if sign_out and st.button("Sign out", icon=":material/logout:", key="app_sign_out"):
        st.logout()
    st.stop()


def sign_in_gate() -> User:
    """The user of this session, or a page instead of the app (and a stop).

    Without ``[auth]`` in the secrets: ``"local"`` (an admin), nothing shown (single-user mode). With it:
    a sign-in page until the user signs in (``st.login()``, OpenID Connect); a refusal page
    for an account without a verified e-mail or outside the allow-list; else the signed-in
    e-mail and its role, shown in the sidebar with a sign-out button. A malformed allow-list,
    admins list or ``server_dirs`` closes the app. Runs before any page shows data."""
    secrets, error = read_secrets()
    if error:
        _sign_in_page("augment-review is closed", [
            "The secrets file cannot be read, so the app cannot tell who may use it: "
            + markdown_code(error)], sign_in=False, sign_out=False)
    problem = _settings_problem(secrets)
    if problem:
        _sign_in_page("augment-review is closed", [
            f"The settings in .streamlit/secrets.toml ([{APP_SECRETS}]) cannot be read: "
            + markdown_code(problem)], sign_in=False, sign_out=False)
    if "auth" not in secrets:
        return current_user()
    allow_list = _allow_list(secrets)
    if not st.user.get("is_logged_in"):
        _sign_in_page("Sign in to augment-review", [
            "This server keeps its datasets and decisions for signed-in reviewers only.",
            "Every decision is recorded under your e-mail address."], sign_in=True, sign_out=False)
    email = signed_in_email()
    if email is None:
        _sign_in_page("Not allowed", [
            "Your account did not give a verified e-mail address, which every decision here is "
            "recorded under. Sign out and sign in with another account."], sign_in=False, sign_out=True)
    assert email is not None
    if not serve_access.is_allowed(email, allow_list):
        _sign_in_page("Not allowed", [
            f"You are signed in as {markdown_code(email)}, which is not on this server's list of reviewers.",
            "Ask whoever runs it to add your address or domain, or sign out and sign in with another account."],
            sign_in=False, sign_out=True)
    user = current_user()
    with st.sidebar:
        st.text(f"Signed in as {email} ({user.role.value})")
        if st.button("Sign out", icon=":material/logout:", key="app_sign_out"):
            st.logout()
    return user


# --- roles: what this session's user may do ----------------------------------------------


def current_user() -> User:
    """This session's user and role, resolved from the sign-in and the secrets on every call
    (so a role taken away takes effect at the next click, in every open tab): without sign-in
    the local user, an admin; with it the signed-in reviewer, an admin when listed in
    ``admins``. Raises :class:`NotSignedIn` where :func:`reviewer` does."""
    name = reviewer()
    secrets, _ = read_secrets()
    if "auth" not in secrets:
        return User(name, policy.role_of(None, (), signed_in=False))
    try:
        admins = policy.parse_admins(_section(secrets).get(policy.ADMINS_KEY))
    except serve_access.AllowListError:  # the gate keeps the app closed; a stray callback gets no more
        admins = ()
    return User(name, policy.role_of(name, admins, signed_in=True))


def can(action: Action) -> bool:
    """Whether this session's user may take ``action``: what a page shows."""
    try:
        return policy.allows(current_user(), action)
    except NotSignedIn:
        return False


def authorize(action: Action) -> User:
    """The user, when allowed to take ``action``; else :class:`augment_core.serve.policy.Forbidden`
    (one line). Every handler that changes something on the server calls it before acting,
    whatever the page showed."""
    try:
        user = current_user()
    except NotSignedIn as exc:
        raise policy.Forbidden(f"not allowed: {exc}") from None
    policy.authorize(user, action)
    return user


def refused(action: Action) -> bool:
    """True after an error box when this session may not take ``action`` (a handler's first
    line: ``if access.refused(Action.X): return``)."""
    try:
        authorize(action)
    except policy.Forbidden as exc:
        show_error(exc)
        return True
    return False


def reviewer_note(action: Action, what: str) -> bool:
    """Whether this session may take ``action``; when not, one line saying what a reviewer
    cannot do here (where the page leaves its controls out)."""
    if can(action):
        return True
    st.caption(f"As a reviewer you cannot {markdown_escape(what)} here: ask an admin of this server.")
    return False


def server_dirs() -> server_paths.ServerDirs:
    """The folders server paths must stay in: ``server_dirs`` in the secrets and
    ``AUGMENT_REVIEW_SERVER_DIRS``, both (union, the secrets' first). Neither set: with sign-in
    none (no server path field is offered), without it the server's working folder and its
    data folder (a relative path lands in the working folder, as it always did)."""
    secrets, _ = read_secrets()
    try:
        configured = server_paths.parse_dirs(_section(secrets).get(server_paths.DIRS_KEY))
    except (serve_access.AllowListError, server_paths.ServerDirsError):
        configured = ()  # the gate keeps the app closed
    from_env = server_paths.env_dirs(os.environ.get(server_paths.ENV))
    if configured or from_env:
        return server_paths.ServerDirs.of(configured, from_env)
    if auth_configured():
        return server_paths.ServerDirs()
    return server_paths.ServerDirs.of([Path.cwd(), get_store().data_dir])


def network_warning() -> None:
    """Every page: a warning when the server is reachable from other machines and nobody has
    to sign in (``server.address`` not loopback, no ``[auth]``)."""
    address = st.get_option("server.address")
    if serve_access.is_loopback(address) or auth_configured():
        return
    where = f"on {address}" if address else "on every network interface"
    st.warning(
        f"This server listens {markdown_escape(where)} without sign-in: anyone who can reach it can read "
        "and change all datasets. Configure sign-in ([auth] in .streamlit/secrets.toml) or serve on "
        "localhost (docs/team.md: Serving a team).",
        icon=":material/public:",
    )
