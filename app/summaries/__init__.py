"""Weekly issue summaries: one service builds the figures; the page, JSON, CSV, CLI and email render them."""

from flask import Blueprint

bp = Blueprint("summaries", __name__, url_prefix="/summaries")
