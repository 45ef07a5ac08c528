"""Carry out a plan through the client (the only module here that writes), and commission a site."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from agents.commissioning.desired import Ref
from agents.commissioning.existing import EntityStore, read_existing
from agents.commissioning.ids import CommissioningError, SiteIds, site_ids
from agents.commissioning.plan import Action, Plan, plan_site
from agents.site.model import SiteSpec
from sta_client import EntityId

log = logging.getLogger(__name__)


def _resolve(value: Any, known: dict[Ref, EntityId]) -> Any:
    if isinstance(value, Ref):
        if value not in known:
            raise CommissioningError(f"no id for {value.entity_set} '{value.key}'")
        return {"@iot.id": known[value]}
    if isinstance(value, dict):
        return {name: _resolve(item, known) for name, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, known) for item in value]
    return value


def creation_key(path: str, body: Any) -> str:
    """The idempotency key of a create: the same for the same entity wanted at the same place, so two
    commissioning runs at once (a restart while the old process still commissions, two boxes with
    one file) create it once — the server answers the second with the first's entity. Keys are kept
    by the server for STA_IDEMPOTENCY_RETENTION_H (24 h); duplicates that still slip through (other
    users, an expired key) are retired by the next run (plan.py `_duplicates`)."""
    canonical = json.dumps([path, body], sort_keys=True, separators=(",", ":"), default=str)
    return "commission-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def apply_plan(plan: Plan, store: EntityStore) -> None:
    """Send the plan's writes in order; the ids created early are linked by later steps."""
    known = dict(plan.known)
    for step in plan.steps:
        body = _resolve(step.body, known)
        if step.action is Action.CREATE:
            new_id = store.create(step.path, body, idempotency_key=creation_key(step.path, body))
            log.info("created %s %s: %s", step.entity_set, step.key, new_id)
            if step.creates is not None:
                known[step.creates] = new_id
        else:
            store.patch(step.path, body)
            log.info("%s %s %s (%s)", step.action.value, step.entity_set, step.key, ", ".join(step.changed))


def describe(plan: Plan) -> str:
    counts = ", ".join(f"{action.value} {plan.count(action)}" for action in Action)
    return f"{counts}, unchanged {plan.unchanged}"


def commission(site: SiteSpec, store: EntityStore, now: datetime) -> SiteIds:
    """Make the server hold what the site file says; the ids of its entities. Twice in a row: the
    second run reads, plans nothing, writes nothing and returns the same ids."""
    existing = read_existing(store, site)
    plan = plan_site(site, existing, now)
    log.info("site %s: %s", site.id, describe(plan))
    for warning in plan.warnings:
        log.warning("site %s: %s", site.id, warning)
    if not plan.steps:
        return site_ids(site, existing)
    apply_plan(plan, store)
    return site_ids(site, read_existing(store, site))  # the server is the truth
