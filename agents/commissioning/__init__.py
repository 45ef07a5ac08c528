"""Idempotent commissioning of a site file: read what the server holds, plan the writes (pure), apply
them, return the ids (`SiteIds`). `python -m agents.commission <site.yaml>` runs it."""
from agents.commissioning.apply import apply_plan, commission, describe
from agents.commissioning.existing import EntityStore, Existing, read_existing
from agents.commissioning.ids import CommissioningError, SiteIds, site_ids
from agents.commissioning.plan import Action, Plan, Step, plan_site

__all__ = [
    "Action", "CommissioningError", "EntityStore", "Existing", "Plan", "SiteIds", "Step", "apply_plan", "commission",
    "describe", "plan_site", "read_existing", "site_ids",
]
