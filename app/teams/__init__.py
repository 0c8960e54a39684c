"""Volunteer teams: team pages, invites and joining, recognition (points, badges, league tables)."""

from flask import Blueprint

bp = Blueprint("teams", __name__)
