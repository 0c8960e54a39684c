"""Notification channels outside the app: department group robots and SMS, each behind a small adapter."""
from app.notify.errors import DeliveryFailed

__all__ = ["DeliveryFailed"]
