"""Coordinators' triage board and the resolution workflow."""

from flask import Blueprint

bp = Blueprint("triage", __name__)
