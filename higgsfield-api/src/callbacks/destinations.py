"""Where the service may send a client's callback: public addresses only (else a client could make
it POST into its own network), unless CALLBACK_ALLOW_PRIVATE=true. Checked at create (a 422) and
before each attempt (a refusal ends the callback)."""

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

import httpx

from src.core.errors import InvalidField

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
# How long a create waits for the resolver before accepting a name (checked again at delivery).
CREATE_RESOLVE_SECONDS = 2.0

THIS_MACHINE = "callback_url must not point at this machine"
NOT_PUBLIC = "callback_url must be a public address, not a private or local one"
RESOLVES_PRIVATE = "callback_url's host resolves to a private or local address"

# IPv6 ranges whose last 32 bits are an IPv4 address the packet may end up at (besides the
# IPv4-mapped ::ffff:0:0/96 and 6to4 2002::/16, which `ipaddress` reads out itself).
_V4_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")

Address = IPv4Address | IPv6Address


def normal_host(host: str) -> str:
    """A host as compared here: lower case, without brackets, trailing dots or an IPv6 zone."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.split("%", 1)[0].rstrip(".")


def parse_address(host: str) -> Address | None:
    """The address a host spells, read as the system resolver reads it (IPv4 through the C
    library's `inet_aton`); None for a name."""
    host = normal_host(host)
    try:
        return IPv6Address(host) if ":" in host else IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # not an address; ValueError for NUL or non-ASCII text
        return None


def _embedded_v4(address: IPv6Address) -> IPv4Address | None:
    if address in _V4_COMPATIBLE or address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.ipv4_mapped or address.sixtofour


def is_public(address: Address) -> bool:
    """A unicast address on the public internet, with any IPv4 address inside it public too."""
    if address.is_multicast or not address.is_global:
        return False
    inner = _embedded_v4(address) if isinstance(address, IPv6Address) else None
    return inner is None or is_public(inner)


def _target(url: str) -> tuple[str, int] | None:
    """(host, port) as the HTTP client will connect; None when it cannot read the URL."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    host = parsed.raw_host.decode("ascii", "replace")
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


async def problem(url: str | None, *, resolve_within: float) -> str | None:
    """Why the service may not POST to `url`, else None. Every address spelling the resolver takes
    counts (`2130706433`, `0177.0.0.1`, `127.1`, IPv4 inside IPv6); a name is resolved for at most
    `resolve_within` seconds, and one that does not resolve in time passes (each attempt checks again)."""
    if not url:
        return None
    target = _target(url)
    try:
        written = urlsplit(url).hostname or ""
    except ValueError:
        written = ""
    # The host as written and as httpx connects (IDNA: `127。0。0。1` is 127.0.0.1).
    for host in {normal_host(written), normal_host(target[0]) if target else ""} - {""}:
        if host in LOCAL_NAMES or host.endswith(".localhost"):
            return THIS_MACHINE
        address = parse_address(host)
        if address is not None and not is_public(address):
            return NOT_PUBLIC
    if target is None or parse_address(target[0]) is not None:
        return None  # an address, judged above; or a URL the client cannot send to at all
    try:
        async with asyncio.timeout(resolve_within):
            infos = await asyncio.get_running_loop().getaddrinfo(*target, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # TimeoutError is an OSError
        return None
    addresses = [ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]  # without a zone
    if any(not is_public(address) for address in addresses):
        return RESOLVES_PRIVATE
    return None


async def refuse_unreachable(url: str | None, field: str, *, allow_private: bool) -> None:
    """A 422 naming `field` when the service may not POST to `url` (judged as `problem` does, waiting
    at most CREATE_RESOLVE_SECONDS for the resolver); nothing to check with CALLBACK_ALLOW_PRIVATE."""
    if not allow_private and (found := await problem(url, resolve_within=CREATE_RESOLVE_SECONDS)):
        raise InvalidField(field, found)
