"""Users, roles, login and personal API tokens."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
