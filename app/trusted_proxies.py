"""The real client address behind reverse proxies the operator trusts (``UJIAN_TRUSTED_PROXIES``).

A request's ``X-Forwarded-For`` is believed only as far as trusted proxies wrote it: the list
is read from the right (the hop nearest the server) and each hop that is itself a trusted
proxy is skipped; the first address that is not is the client. Anything further left was
written by the client and is ignored, so a candidate cannot pick the address their login
tries are counted against. Without trusted proxies (the default) the header is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """The networks of a comma- or space-separated CIDR list (a bare address is its own /32 or
    /128).

    Raises
    ------
    ValueError
        Naming the first entry that is not an IPv4 or IPv6 network.
    """
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            msg = (
                f"UJIAN_TRUSTED_PROXIES: {entry!r} is not an IPv4 or IPv6 network "
                "(write CIDRs separated by commas, e.g. 10.0.0.5/32,192.168.10.0/24)"
            )
            raise ValueError(msg) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` is inside one of the ``trusted`` networks."""
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def real_client(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client a request came from.

    ``peer`` is the address of the connection; ``forwarded_for`` the values of every
    ``X-Forwarded-For`` header in order. A peer that is not a trusted proxy is the client. A
    hop that is not an address stops the walk at the proxy that wrote it (the nearest address
    known to be real).
    """
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            return client
        client = str(parsed)
        if not any(parsed in network for network in trusted):
            return client
    # Every hop was a trusted proxy: the farthest one is as near the client as is known.
    return client
