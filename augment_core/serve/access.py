"""Who may use a served app: the sign-in allow-list and whether the server is local only.

Plain functions, no Streamlit: the app (``app.py``, ``app_support.access``) reads the
configuration and calls these.

- The allow-list (``allowed_users`` in the ``[augment_review]`` section of
  ``.streamlit/secrets.toml``) holds e-mail addresses (``alice@example.com``) and domains
  (``@example.com``), compared without regard to case. Empty or absent: anyone the identity
  provider signs in.
- A server address is *loopback* when only this machine can reach it: ``localhost``, an
  address in 127.0.0.0/8, ``::1``, or a Unix socket.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Iterable

LOCALHOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class AllowListError(ValueError):
    """The allow-list in the secrets is not a list of e-mail addresses and @domains."""


def parse_allow_list(raw: Any, key: str = "allowed_users") -> tuple[str, ...]:
    """The allow-list's entries, lower-cased: ``alice@example.com`` or ``@example.com``.
    None or an empty list: no allow-list. Anything else that is not such a list raises
    :class:`AllowListError` with a line saying what is wrong (naming the setting ``key``:
    the admins list is parsed the same way)."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, (list, tuple)):
        raise AllowListError(f"{key} must be a list of e-mail addresses and @domains")
    out: list[str] = []
    for entry in raw:
        if not isinstance(entry, str) or not entry.strip():
            raise AllowListError(f"{key}: {entry!r} is not an e-mail address or @domain")
        e = entry.strip().lower()
        local, at, domain = e.rpartition("@")
        if not at or not domain or "." not in domain.strip(".") or " " in e or local.count("@"):
            raise AllowListError(f"{key}: {entry!r} is not an e-mail address or @domain")
        out.append(e)
    return tuple(out)


def normalize_email(email: Any) -> str | None:
    """An e-mail address as the app records it (trimmed, lower-case); None when it is not one."""
    if not isinstance(email, str):
        return None
    e = email.strip().lower()
    local, at, domain = e.rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in e):
        return None
    return e


def is_allowed(email: str | None, allow_list: Iterable[str]) -> bool:
    """Whether a signed-in e-mail may use the app: any address when the list is empty;
    else the address itself or its ``@domain`` must be listed. No address: never."""
    address = normalize_email(email)
    if address is None:
        return False
    entries = tuple(allow_list)
    if not entries:
        return True
    domain = "@" + address.rpartition("@")[2]
    return address in entries or domain in entries


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` can be reached from this machine only.

    None or empty (the server's default: every interface), ``0.0.0.0`` and ``::`` are not;
    ``localhost``, 127.x.y.z, ``::1`` and ``unix://`` sockets are. Another host name is
    loopback only when every address it resolves to is."""
    if not address:
        return False
    a = address.strip().lower()
    if a.startswith("unix://"):
        return True
    if a in LOCALHOST_NAMES:
        return True
    try:
        return ipaddress.ip_address(a.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(a, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(x).split("%")[0]).is_loopback for x in addresses)
