"""The start page: what the logged-in user can open (their sites, the professional pages)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gui.auth import login_required, sta
from gui.households import list_sites

blueprint = Blueprint("home", __name__)


@blueprint.route("/")
@login_required
def index() -> str:
    return render_template("index.html", sites=list_sites(sta()), professional="professional" in current_app.blueprints)
