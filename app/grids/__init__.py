"""Grid areas (网格): polygons with a code, a name, a grid worker and a default department."""

from flask import Blueprint

bp = Blueprint("grids", __name__)
