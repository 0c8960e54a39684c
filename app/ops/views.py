"""Probes for load balancers and orchestrators (no login, no session)."""

from flask import jsonify

from app.ops import bp
from app.ops.health import readiness


@bp.route("/readyz")
def readyz():
    """200 when the database and the photo store answer; 503 naming what does not."""
    checks = readiness()
    failing = {name: state for name, state in checks.items() if state != "ok"}
    if failing:
        response = jsonify(
            status="unavailable", checks=checks, reasons=[f"{name} {state}" for name, state in failing.items()]
        )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(status="ok", checks=checks)
