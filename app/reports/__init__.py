"""The rider's snap-and-report: photos, location, submission and My reports."""

from flask import Blueprint

bp = Blueprint("reports", __name__)
