"""Where the service may send a client's callback: public addresses only, unless allowed.

A callback URL is chosen by a client, so without a check any client could make the service
POST to its own network (the database, a metadata endpoint, an admin port). Literal private
addresses and `localhost` are refused when the task is created (422); host names are
resolved and checked again before each attempt, since what a name points to can change.
CALLBACK_ALLOW_PRIVATE=true lifts both checks (for a receiver on the same network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def literal_problem(url: str | None) -> str | None:
    """Why this URL may not be used, judged without DNS; None when it may (or there is none)."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return "callback_url must not point at this machine"
    try:
        public = _is_public(host)
    except ValueError:
        return None  # a name: checked when resolved, before each attempt
    return None if public else "callback_url must be a public address, not a private or local one"


async def resolved_problem(url: str) -> str | None:
    """Why delivering to this URL now is refused (a name resolving to a non-public address)."""
    if problem := literal_problem(url):
        return problem
    parts = urlsplit(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError:
        return None  # let the attempt fail as a connect error, like any unreachable host
    if any(not _is_public(str(info[4][0])) for info in infos):
        return "address not allowed"
    return None
