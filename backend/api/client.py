"""Where a request came from, told the same way everywhere (login lockout, audit log, throttles).

The address is `REMOTE_ADDR` unless `NUM_PROXIES` (REST_FRAMEWORK setting, env `NUM_PROXIES`) says
how many trusted proxies append to `X-Forwarded-For`: then it is the address that many hops from the
right, as DRF's throttles read it. A client cannot choose its address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from rest_framework.settings import api_settings

MAX_USER_AGENT = 300


def client_ip(request: Any) -> str | None:
    """The client's IP address, or None when what we have is not an address."""
    meta = request.META
    address = meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if num_proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(num_proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


def client_user_agent(request: Any) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:MAX_USER_AGENT]
