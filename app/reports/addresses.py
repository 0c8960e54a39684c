"""Reverse geocoding after the report is safely stored, so it never holds up a submission."""

import threading

from flask import current_app

from app.reports.geo import ReverseGeocoder


def geocoder() -> ReverseGeocoder:
    """The app's reverse geocoder (a no-op when GRIDSNAP_GEOCODER is unset)."""
    app = current_app._get_current_object()
    if "geocoder" not in app.extensions:
        app.extensions["geocoder"] = ReverseGeocoder(
            app.config["GEOCODER"], app.config["GEOCODER_USER_AGENT"], app.config["GEOCODER_TIMEOUT"]
        )
    return app.extensions["geocoder"]


def fill_address(report_id: int) -> str | None:
    """Look up and store the address of one report; returns it (None if no geocoder answered)."""
    from app.extensions import db
    from app.models import Report

    report = db.session.get(Report, report_id)
    if report is None or report.address or not report.has_location:
        return report.address if report else None
    address = geocoder().address(report.lat, report.lon)
    if address:
        from app.models import utcnow

        report.address = address
        report.updated_at = utcnow()  # Open311 shows the address: its updated_datetime moves with it
        db.session.commit()
    return address


def lookup_address_later(report_id: int) -> None:
    """Fill the address in a background thread when a geocoder is configured."""
    app = current_app._get_current_object()
    if not app.config["GEOCODER"]:
        return

    def work():
        with app.app_context():
            try:
                fill_address(report_id)
            except Exception:  # an address is a nicety; never let it break anything
                app.logger.warning("reverse geocoding failed for report %s", report_id)

    threading.Thread(target=work, daemon=True).start()
