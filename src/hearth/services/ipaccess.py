# SPDX-License-Identifier: GPL-3.0-or-later
"""IP rules (``jsonrpc.md`` §6): the allowed set is the ``default`` user's rules plus the user's.

An empty set allows everything. A rule's ``active`` flag is ignored, as in Kallithea.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from hearth.db.models import UserIpRule

_RULES = select(UserIpRule.ip_addr).where(
    or_(UserIpRule.user_id == bindparam("uid"), UserIpRule.user_id == bindparam("did"))
)


def ip_allowed(db: Session, user_id: int, default_user_id: int, address: str) -> bool:
    rules = db.scalars(_RULES, {"uid": user_id, "did": default_user_id}).all()
    if not rules:
        return True
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    for rule in rules:
        try:
            if addr in ipaddress.ip_network(rule, strict=False):
                return True
        except ValueError:
            continue
    return False


def ip_range(rule: str) -> list[str]:
    """``[first, last]`` address of a CIDR rule, as strings."""
    net = ipaddress.ip_network(rule, strict=False)
    return [str(net.network_address), str(net.broadcast_address)]


def normalise_rule(rule: str) -> str:
    """A CIDR rule as stored; raises ValueError for garbage."""
    return str(ipaddress.ip_network(rule.strip(), strict=False))


def add_rule(db: Session, user_id: int, cidr: str) -> str:
    """Allow ``user_id`` from ``cidr``; returns the rule as stored. ValueError for garbage."""
    rule = normalise_rule(cidr)
    db.add(UserIpRule(user_id=user_id, ip_addr=rule))
    db.flush()
    return rule


def remove_rule(db: Session, user_id: int, cidr: str) -> tuple[str, bool]:
    """Remove ``user_id``'s rule ``cidr``; returns the normalised rule and whether it existed.
    ValueError for garbage."""
    rule = normalise_rule(cidr)
    removed = db.execute(
        delete(UserIpRule).where(UserIpRule.user_id == user_id, UserIpRule.ip_addr == rule)
    ).rowcount  # type: ignore[attr-defined]
    return rule, bool(removed)
