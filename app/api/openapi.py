"""The OpenAPI 3 document of /api/v1, kept next to the code it describes.

OPERATIONS holds every endpoint (path relative to /api/v1, then method). document() publishes the
operations whose route the running app has, so the document never promises a missing endpoint;
tests/integration/test_openapi.py fails when an /api/v1 route has no entry here.
"""

from __future__ import annotations

import re

from flask import current_app

from app.triage.workflow import PRIORITIES as _PRIORITIES
from app.triage.workflow import Outcome, Status

PREFIX = "/api/v1"
STATUSES = [s.value for s in Status]
PRIORITIES = list(_PRIORITIES)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
WHEN = {"type": "string", "format": "date-time", "description": "ISO-8601 with the local offset"}
PIN = {"type": "number", "nullable": True, "description": "null while the report waits for its pin (location needed)"}

SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "description": "Every refusal: a stable code and a translated message (extra fields may explain more).",
        "properties": {
            "error": {"type": "object", "required": ["code", "message"], "properties": {"code": STR, "message": STR}}
        },
    },
    "Photo": {
        "type": "object",
        "required": ["id", "url", "thumb_url", "width", "height"],
        "properties": {"id": INT, "kind": STR, "url": STR, "thumb_url": STR, "width": INT, "height": INT},
    },
    "GridRef": nullable({"type": "object", "required": ["code", "name"], "properties": {"code": STR, "name": STR}}),
    "Report": {
        "type": "object",
        "required": ["id", "reference", "status", "category", "lat", "lon", "created_at", "photos"],
        "properties": {
            "id": INT,
            "reference": STR,
            "status": {"type": "string", "enum": STATUSES},
            "category": STR,
            "category_name": STR,
            "description": STR,
            "building": STR,
            "lat": PIN,
            "lon": PIN,
            "place": {
                "type": "string",
                "description": "Where it is by name: grid · nearest landmark, direction and distance (else the "
                "address or the coordinates), in the caller's language",
            },
            "accuracy": nullable(NUM),
            "location_source": {"type": "string", "enum": ["device", "exif", "map", "address", "staff", "none"]},
            "address": nullable(STR),
            "created_at": WHEN,
            "captured_at": nullable(WHEN),
            "updated_at": nullable(WHEN),
            "version": INT,
            "priority": {"type": "string", "enum": PRIORITIES},
            "department": nullable(STR),
            "assignee": nullable(STR),
            "due_at": nullable(WHEN),
            "overdue": BOOL,
            "outcome": nullable({"type": "string", "enum": [o.value for o in Outcome]}),
            "duplicate_of": nullable(STR),
            "grid": ref("GridRef"),
            "outside_area": {
                "type": "boolean",
                "description": "The location is outside the service area (accepted, flagged for checking)",
            },
            "photos": {"type": "array", "items": ref("Photo")},
            "after_photos": {"type": "array", "items": ref("Photo")},
            "voice": nullable(
                {
                    "type": "object",
                    "description": "The rider's voice note (not shown to co-reporters)",
                    "properties": {"url": STR, "type": STR, "seconds": nullable(NUM)},
                }
            ),
            "co_reporter": {
                "type": "boolean",
                "description": "The caller co-reports it and sees only their share: no description, "
                "building or capture time, no photos but the staff's",
            },
        },
    },
    "ReportRow": {
        "type": "object",
        "required": ["id", "reference", "status", "category", "lat", "lon", "created_at"],
        "description": "A list row: the full Report for riders, the board's columns for staff.",
        "properties": {
            "id": INT,
            "reference": STR,
            "status": {"type": "string", "enum": STATUSES},
            "version": INT,
            "priority": {"type": "string", "enum": PRIORITIES},
            "category": STR,
            "category_name": STR,
            "department": nullable(STR),
            "assignee": nullable(STR),
            "assignee_id": nullable(INT),
            "description": STR,
            "address": nullable(STR),
            "place": {"type": "string", "description": "By name (grid · nearest landmark); empty when unknown"},
            "lat": PIN,
            "lon": PIN,
            "grid_id": nullable(INT),
            "created_at": WHEN,
            "updated_at": nullable(WHEN),
            "due_at": nullable(WHEN),
            "overdue": BOOL,
            "due_soon": BOOL,
        },
    },
    "ReportPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": ref("ReportRow")},
            "page": INT,
            "per_page": INT,
            "total": INT,
            "counts": {
                "type": "object",
                "additionalProperties": INT,
                "description": "Staff: reports per status under the same filters",
            },
            "filter": {"type": "object", "description": "Staff: the filter as applied"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "kind", "at"],
        "properties": {
            "id": INT,
            "kind": STR,
            "at": WHEN,
            "actor": nullable(STR),
            "from": nullable(STR),
            "to": nullable(STR),
            "note": STR,
            "internal": BOOL,
            "details": {"type": "object"},
        },
    },
    "EventList": {
        "type": "object",
        "required": ["events"],
        "properties": {"events": {"type": "array", "items": ref("Event")}},
    },
    "Transition": {
        "type": "object",
        "required": ["to", "version"],
        "description": "A status move; send only what the move needs (see the workflow).",
        "properties": {
            "to": {"type": "string", "enum": STATUSES},
            "version": {"type": "integer", "description": "The version you saw (stale: 409)"},
            "note": {"type": "string", "description": "Internal unless `internal` is false"},
            "reply": {"type": "string", "description": "What the rider reads with the move"},
            "assignee": nullable({"type": "integer", "description": "A handler's user id"}),
            "department": nullable({"type": "string", "description": "A department code or id"}),
            "outcome": {"type": "string", "enum": [o.value for o in Outcome]},
            "duplicate_of": nullable({"type": "string", "description": "A reference or id"}),
            "internal": {"type": "boolean", "default": True, "description": "Hide the note from the rider"},
        },
    },
    "Correction": {
        "type": "object",
        "required": ["version"],
        "description": "Staff correct what the rider got wrong; send at least a category or both lat and lon.",
        "properties": {
            "version": {"type": "integer", "description": "The version you saw (stale: 409)"},
            "category": {"type": "string", "description": "A category code"},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "note": {"type": "string", "description": "An internal note on the correction"},
        },
    },
    "CsrfToken": {"type": "object", "required": ["csrf_token", "user"], "properties": {"csrf_token": STR, "user": INT}},
    "Comment": {
        "type": "object",
        "required": ["note"],
        "properties": {
            "note": STR,
            "internal": {"type": "boolean", "description": "Staff only: hidden from the rider"},
        },
    },
    "Notification": {
        "type": "object",
        "required": ["id", "kind", "title", "body", "created_at", "read", "report"],
        "properties": {
            "id": INT,
            "kind": STR,
            "title": STR,
            "body": STR,
            "created_at": WHEN,
            "read": BOOL,
            "report": nullable(
                {"type": "object", "required": ["id", "reference"], "properties": {"id": INT, "reference": STR}}
            ),
        },
    },
    "NotificationList": {
        "type": "object",
        "required": ["items", "unread"],
        "properties": {"items": {"type": "array", "items": ref("Notification")}, "unread": INT},
    },
    "UnreadCount": {"type": "object", "required": ["unread"], "properties": {"unread": INT}},
    "MarkRead": {
        "type": "object",
        "description": "Either ids or all",
        "properties": {
            "ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "all": {"type": "boolean", "enum": [True]},
        },
    },
    "SmsRequest": {
        "type": "object",
        "required": ["phone"],
        "properties": {
            "phone": {"type": "string", "example": "138 0013 8000", "description": "Mainland China unless +"}
        },
    },
    "SmsSent": {
        "type": "object",
        "required": ["sent", "expires_in"],
        "properties": {"sent": {"type": "boolean", "enum": [True]}, "expires_in": INT},
    },
    "SmsVerify": {
        "type": "object",
        "required": ["phone", "code"],
        "properties": {
            "phone": STR,
            "code": {"type": "string", "pattern": "^[0-9]{6}$"},
            "token": {"type": "boolean", "description": "true: a personal API token in the answer, no cookie"},
        },
    },
    "SignedIn": {
        "type": "object",
        "required": ["user"],
        "properties": {
            "user": {
                "type": "object",
                "properties": {"id": INT, "username": STR, "display_name": STR, "role": STR},
            },
            "token": {"type": "string", "description": "Only when asked for: shown once, send as Bearer"},
        },
    },
    "Receipt": {
        "type": "object",
        "required": ["token", "url", "image_url"],
        "properties": {
            "token": {"type": "string", "description": "base64url(facts JSON) . base64url(Ed25519 signature)"},
            "url": {"type": "string", "format": "uri", "description": "The public check page (/verify/<token>)"},
            "image_url": {"type": "string", "format": "uri", "description": "The receipt as a PNG (the rider's)"},
        },
    },
    "Marked": {"type": "object", "required": ["marked", "unread"], "properties": {"marked": INT, "unread": INT}},
    "Confirmation": {
        "type": "object",
        "required": ["fixed"],
        "properties": {"fixed": BOOL, "note": {"type": "string", "maxLength": 1000}},
    },
    "Look": {
        "type": "object",
        "required": ["fixed", "lat", "lon"],
        "properties": {
            "fixed": BOOL,
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "note": {"type": "string", "maxLength": 1000},
        },
    },
    "Looked": {
        "type": "object",
        "required": ["id", "reference", "fixed"],
        "properties": {"id": INT, "reference": STR, "fixed": BOOL},
    },
    "Places": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "kind", "lat", "lon", "grid"],
                    "properties": {
                        "id": INT,
                        "name": STR,
                        "kind": STR,
                        "lat": NUM,
                        "lon": NUM,
                        "grid": nullable({"type": "string", "description": "The grid it lies in"}),
                        "distance_m": {"type": "integer", "description": "From the given position"},
                    },
                },
            }
        },
    },
    "FixedNearby": {
        "type": "object",
        "required": ["items", "radius_m", "days"],
        "properties": {
            "radius_m": NUM,
            "days": INT,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "reference", "category", "resolved_at", "distance_m"],
                    "properties": {
                        "id": INT,
                        "reference": STR,
                        "category": STR,
                        "category_name": STR,
                        "resolved_at": WHEN,
                        "distance_m": NUM,
                    },
                },
            },
        },
    },
    "PhotoAdded": {
        "type": "object",
        "required": ["report", "event"],
        "properties": {"report": ref("Report"), "event": ref("Event")},
    },
    "Candidates": {
        "type": "object",
        "required": ["items", "radius_m"],
        "properties": {
            "radius_m": NUM,
            "days": INT,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "reference", "status", "category", "distance_m"],
                    "properties": {
                        "id": INT,
                        "reference": STR,
                        "status": {"type": "string", "enum": STATUSES},
                        "category": STR,
                        "category_name": STR,
                        "created_at": WHEN,
                        "lat": NUM,
                        "lon": NUM,
                        "description": STR,
                        "distance_m": NUM,
                        "mine": {"type": "boolean", "description": "The caller already follows it"},
                    },
                },
            },
        },
    },
    "Leaderboard": {
        "type": "object",
        "required": ["period", "by", "start", "end", "rows"],
        "properties": {
            "period": {"type": "string", "enum": ["week", "month"]},
            "by": {"type": "string", "enum": ["team", "volunteer"]},
            "start": WHEN,
            "end": WHEN,
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rank", "name", "points", "reports", "fixed"],
                    "properties": {
                        "rank": INT,
                        "name": {"type": "string", "description": "A team or display name"},
                        "points": NUM,
                        "reports": INT,
                        "fixed": INT,
                        "total_points": {"type": "number", "description": "Teams: all time"},
                        "members": {"type": "integer", "description": "Teams only"},
                    },
                },
            },
        },
    },
    "FeatureCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "geometry": nullable({"type": "object"}),
                        "properties": {"type": "object"},
                    },
                },
            },
        },
    },
    "TeamList": {
        "type": "object",
        "required": ["teams"],
        "properties": {
            "teams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "members"],
                    "properties": {
                        "id": INT,
                        "name": STR,
                        "slogan": nullable(STR),
                        "requires_approval": BOOL,
                        "members": {"type": "integer", "description": "Active members"},
                    },
                },
            }
        },
    },
}

MESSAGES = {
    200: "OK",
    201: "Created",
    400: "Missing or invalid parameter",
    401: "Not logged in",
    403: "Not allowed for this account",
    404: "No such resource",
    409: "Conflict with the current state",
    413: "Upload too large",
    415: "Unsupported photo type",
    429: "Too many requests",
}


def ok(schema_name: str, description: str = "OK", headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}
    if headers:
        out["headers"] = headers
    return out


def errors(*codes: int) -> dict:
    return {
        str(c): {"description": MESSAGES[c], "content": {"application/json": {"schema": ref("Error")}}} for c in codes
    }


def limited(what: str) -> dict:
    """The 429 of a rider's filing limit (staff and handlers have none)."""
    return {
        "429": {
            "description": f"The rider has sent the most {what} allowed for now",
            "headers": {"Retry-After": {"schema": INT, "description": "Seconds until they may send again"}},
            "content": {"application/json": {"schema": ref("Error")}},
        }
    }


def query(name: str, schema: dict, description: str = "", **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **extra}


REPORT_ID = {
    "name": "report_id",
    "in": "path",
    "required": True,
    "example": 1,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
PAGING = [
    query("page", {"type": "integer", "minimum": 1}, "Page number, from 1"),
    query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": 100},
        "Rows per page (riders at most 100, staff at most 200)",
    ),
]

OPERATIONS: dict[str, dict[str, dict]] = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/csrf": {
        "get": {
            "summary": "A fresh CSRF token",
            "description": "For cookie-authenticated writes from pages served from the phone's cache (the offline "
            "outbox): send the token back in the `X-CSRFToken` header. Never cached.",
            "tags": ["meta"],
            "responses": {"200": ok("CsrfToken"), **errors(401)},
        }
    },
    "/reports": {
        "get": {
            "summary": "List reports",
            "description": "Riders (or `mine=1`) get their own and co-reported reports; coordinators and "
            "admins get the triage board's list with its filters and counts per status.",
            "tags": ["reports"],
            "parameters": [
                query(
                    "mine",
                    {"type": "string", "enum": ["1", "0"]},
                    "1: only the caller's own reports (riders always get only theirs)",
                ),
                *PAGING,
                query(
                    "status",
                    {"type": "array", "items": {"type": "string", "enum": STATUSES + ["open"]}},
                    "Staff: statuses to show (repeat the parameter, or comma-separated; `open` = all open "
                    "statuses, the default)",
                    style="form",
                    explode=True,
                ),
                query("category", STR, "Staff: a category code"),
                query("department", STR, "Staff: a department code"),
                query("assignee", STR, "Staff: a user id, or `none`"),
                query("priority", {"type": "string", "enum": PRIORITIES}, "Staff: priority"),
                query("overdue", {"type": "string", "enum": ["1", "0"]}, "Staff: 1 for only overdue reports"),
                query("from", {"type": "string", "format": "date"}, "Staff: filed on or after (local date)"),
                query("to", {"type": "string", "format": "date"}, "Staff: filed on or before (local date)"),
                query("q", STR, "Staff: text in the reference, description or address"),
                query("grid", INT, "Staff: a grid id"),
                query(
                    "sort",
                    {"type": "string", "enum": ["newest", "oldest", "due", "priority", "updated"]},
                    "Staff: order",
                ),
            ],
            "responses": {"200": ok("ReportPage"), **errors(400, 401)},
        },
        "post": {
            "summary": "File a report",
            "description": "Multipart form with 1-4 photos. Without lat/lon the first photo's EXIF GPS is "
            "used. A repeated `Idempotency-Key` returns the first report with 200 (and is not "
            "counted against the rider's limit).",
            "tags": ["reports"],
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 100},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["photos", "category"],
                            "properties": {
                                "photos": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                    "minItems": 1,
                                    "maxItems": 4,
                                },
                                "category": STR,
                                "description": {"type": "string", "maxLength": 1000},
                                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                                "accuracy": {"type": "number", "minimum": 0},
                                "location_source": {"type": "string", "enum": ["device", "exif", "map"]},
                                "building": {"type": "string", "maxLength": 100},
                                "captured_at": {"type": "string", "format": "date-time"},
                                "voice": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "A voice note: Opus in WebM or Ogg, or AAC in MP4; at most 60 s "
                                    "and about 100 KB per 30 s (413 beyond, 415 when it is not audio)",
                                },
                                "voice_seconds": {"type": "number", "minimum": 0, "maximum": 60},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": ok("Report", "Filed", {"Location": {"schema": STR}}),
                "200": ok("Report", "Already filed with this Idempotency-Key"),
                **errors(400, 401, 403, 413, 415),
                **limited("reports"),
            },
        },
    },
    "/reports/{report_id}": {
        "get": {
            "summary": "One report",
            "description": "For its rider, staff and its handlers; its co-reporters get its "
            "status, category, place and after photos only.",
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "responses": {"200": ok("Report"), **errors(401, 403, 404)},
        },
        "patch": {
            "summary": "Correct a report's category or location",
            "description": "Coordinators and admins. The grid, the suggested department (while not dispatched), "
            "the deadlines and the default priority are worked out again; an internal timeline event records "
            "it. A stale version is 409 `stale_version`; riders and handlers 403.",
            "tags": ["triage"],
            "parameters": [REPORT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Correction")}}},
            "responses": {"200": ok("Report"), **errors(400, 401, 403, 404, 409)},
        },
    },
    "/reports/{report_id}/events": {
        "get": {
            "summary": "A report's timeline",
            "description": "Oldest first; riders do not see internal notes, co-reporters only the staff's moves and "
            "replies and their own additions.",
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "responses": {"200": ok("EventList"), **errors(401, 403, 404)},
        }
    },
    "/reports/{report_id}/transitions": {
        "post": {
            "summary": "Move a report to another status",
            "description": "Coordinators and admins make any legal move; handlers move reports assigned to them "
            "or their department. An illegal move is 409 `invalid_transition`, a stale version "
            "409 `stale_version`.",
            "tags": ["triage"],
            "parameters": [REPORT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref("Transition")},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["to", "version"],
                            "description": 'The same fields as a form, plus the "after" photo of a resolve.',
                            "properties": {
                                "to": {"type": "string", "enum": STATUSES},
                                "version": INT,
                                "note": STR,
                                "reply": STR,
                                "assignee": INT,
                                "department": STR,
                                "outcome": {"type": "string", "enum": [o.value for o in Outcome]},
                                "duplicate_of": STR,
                                "internal": {"type": "boolean", "default": True},
                                "after_photo": {"type": "string", "format": "binary"},
                            },
                        }
                    },
                },
            },
            "responses": {"200": ok("Report"), **errors(400, 401, 403, 404, 409, 413, 415)},
        }
    },
    "/reports/{report_id}/duplicates": {
        "get": {
            "summary": "Duplicate candidates",
            "description": "Coordinators and admins: same category, nearby and recent, not rejected, nearest "
            "first, with the distance in metres.",
            "tags": ["triage"],
            "parameters": [REPORT_ID],
            "responses": {"200": ok("Candidates"), **errors(401, 403, 404)},
        }
    },
    "/reports/{report_id}/comments": {
        "post": {
            "summary": "Comment on a report",
            "description": "A timeline entry without a status change.",
            "tags": ["triage"],
            "parameters": [REPORT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Comment")}}},
            "responses": {"201": ok("Event", "Added"), **errors(400, 401, 403, 404), **limited("comments and photos")},
        }
    },
    "/reports/{report_id}/photos": {
        "post": {
            "summary": "Add photos to a report",
            "description": 'A rider\'s "still there" photos for a report they follow, or to join one '
            "nearby: at least one photo (400 `photo_required`), and only an open report filed "
            "within `GRIDSNAP_DUPLICATE_DAYS` (409 `report_closed` / `report_too_old`).",
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["photos"],
                            "properties": {
                                "photos": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                    "minItems": 1,
                                    "maxItems": 4,
                                },
                                "comment": STR,
                                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": ok("PhotoAdded", "Added"),
                **errors(400, 401, 403, 404, 409, 413, 415),
                **limited("comments and photos"),
            },
        }
    },
    "/reports/{report_id}/confirmation": {
        "post": {
            "summary": "Is it fixed? (the rider's confirmation)",
            "description": 'The report\'s rider or a co-reporter answers once per resolve. "Not fixed" within 7 days '
            "of the resolve sends it back to accepted, once; later answers only tell the coordinators.",
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref("Confirmation")},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["fixed"],
                            "properties": {
                                "fixed": {"type": "string", "enum": ["true", "false"]},
                                "note": STR,
                                "photo": {"type": "string", "format": "binary"},
                            },
                        }
                    },
                },
            },
            "responses": {"200": ok("Report"), **errors(400, 401, 403, 404, 409, 413, 415)},
        }
    },
    "/reports/fixed-nearby": {
        "get": {
            "summary": "Fixed? Take a look",
            "description": "Riders: reports resolved (or closed as fixed) in the last 14 days within 200 m of the "
            "caller, nearest first, that are not theirs and that they have not looked at yet.",
            "tags": ["reports"],
            "parameters": [
                query("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True),
                query("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True),
            ],
            "responses": {"200": ok("FixedNearby"), **errors(400, 401, 403)},
        }
    },
    "/reports/{report_id}/verification": {
        "post": {
            "summary": "A passer-by's look at a fixed report",
            "description": "A rider within 200 m of a report resolved in the last 14 days says whether it is fixed, "
            "once (409 `already_verified`); it earns the verification points (daily cap applies), never for "
            "their own report (403 `own_report`). Too far: 400 `too_far`; not resolved lately: 409 `not_resolved`. "
            '"Not fixed" is flagged to the coordinators.',
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref("Look")},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["fixed", "lat", "lon"],
                            "properties": {
                                "fixed": {"type": "string", "enum": ["true", "false"]},
                                "lat": NUM,
                                "lon": NUM,
                                "note": STR,
                                "photo": {"type": "string", "format": "binary"},
                            },
                        }
                    },
                },
            },
            "responses": {"200": ok("Looked"), **errors(400, 401, 403, 404, 409, 413, 415)},
        }
    },
    "/notifications": {
        "get": {
            "summary": "My notifications",
            "description": "Delivered notifications, newest first (at most 50).",
            "tags": ["notifications"],
            "parameters": [query("unread", {"type": "string", "enum": ["1"]}, "Only the unread ones")],
            "responses": {"200": ok("NotificationList"), **errors(401)},
        }
    },
    "/notifications/count": {
        "get": {
            "summary": "The bell's number",
            "tags": ["notifications"],
            "responses": {"200": ok("UnreadCount"), **errors(401)},
        }
    },
    "/notifications/read": {
        "post": {
            "summary": "Mark notifications read",
            "tags": ["notifications"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("MarkRead")}}},
            "responses": {"200": ok("Marked"), **errors(400, 401)},
        }
    },
    "/reports/{report_id}/receipt": {
        "get": {
            "summary": "The rider's signed receipt of a report (免责凭证)",
            "description": "Only the rider who filed the report. The facts (reference, category, photo and filing "
            "times, place rounded to 100 m, status) are signed with the county's Ed25519 key, published at "
            "/.well-known/gridsnap-receipt-key.json.",
            "tags": ["reports"],
            "parameters": [REPORT_ID],
            "responses": {"200": ok("Receipt"), **errors(401, 403, 404)},
        }
    },
    "/auth/sms/request": {
        "post": {
            "summary": "Send a sign-in code by text message",
            "description": "A 6-digit code valid 5 minutes. The same 202 whether or not the number has an account. "
            "At most 1 code a minute and 5 an hour per number, 20 an hour per address.",
            "tags": ["auth"],
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SmsRequest")}}},
            "responses": {
                "202": ok("SmsSent", "Sent (or not, for a number that cannot be told apart)"),
                **errors(400),
                **limited("codes"),
            },
        }
    },
    "/auth/sms/verify": {
        "post": {
            "summary": "Sign in with the code",
            "description": "A session cookie (long-lived), or with `token: true` a personal API token. Five wrong "
            "tries burn the code. 400 `invalid_code` for a wrong or expired code; 403 `no_account` for a number "
            "without an account.",
            "tags": ["auth"],
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SmsVerify")}}},
            "responses": {"200": ok("SignedIn"), **errors(400, 403), **limited("tries")},
        }
    },
    "/reports/nearby": {
        "get": {
            "summary": "Open reports nearby",
            "description": 'Open reports of a category near a point, nearest first ("already reported?").',
            "tags": ["reports"],
            "parameters": [
                query("category", STR, "A category code", required=True),
                query("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True),
                query("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True),
            ],
            "responses": {"200": ok("Candidates"), **errors(400, 401)},
        }
    },
    "/places": {
        "get": {
            "summary": "Find a place",
            "description": "Landmarks whose name, pinyin initials or pinyin contain `q` (e.g. `rmyy` finds "
            "犍为县人民医院), nearest first when `lat` and `lon` are given (with no `q`: the nearest). "
            "Positions in WGS-84.",
            "tags": ["reports"],
            "parameters": [
                query("q", {"type": "string", "maxLength": 60}, "A few characters of the name, or pinyin initials"),
                query("lat", {"type": "number", "minimum": -90, "maximum": 90}),
                query("lon", {"type": "number", "minimum": -180, "maximum": 180}),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 50}),
            ],
            "responses": {"200": ok("Places"), **errors(400, 401)},
        }
    },
    "/leaderboard": {
        "get": {
            "summary": "Leaderboard",
            "tags": ["teams"],
            "parameters": [
                query("period", {"type": "string", "enum": ["week", "month"]}),
                query("by", {"type": "string", "enum": ["team", "volunteer"]}),
            ],
            "responses": {"200": ok("Leaderboard"), **errors(400, 401)},
        }
    },
    "/grids": {
        "get": {
            "summary": "Grid areas as GeoJSON",
            "tags": ["grids"],
            "responses": {"200": ok("FeatureCollection"), **errors(401)},
        }
    },
    "/teams": {
        "get": {
            "summary": "Volunteer teams with member counts",
            "tags": ["teams"],
            "responses": {"200": ok("TeamList"), **errors(401)},
        }
    },
}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path relative to /api/v1: <int:report_id> -> {report_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX) :])


def routes() -> set[tuple[str, str]]:
    """(path, method) of every /api/v1 route of the running app."""
    found = set()
    for rule in current_app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((openapi_path(rule.rule), method.lower()))
    return found


def document() -> dict:
    """The OpenAPI 3.0 document of the endpoints this app serves."""
    present = routes()
    paths: dict[str, dict] = {}
    for path, operations in OPERATIONS.items():
        for method, operation in operations.items():
            if (path, method) in present:
                paths.setdefault(path, {})[method] = {
                    "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
                    **operation,
                }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "GridSnap API",
            "version": "1",
            "description": "Reports, triage, teams and grids. Authenticate with a personal API token "
            "(`Authorization: Bearer ...`, created on your profile page) or the session "
            'cookie plus an `X-CSRFToken` header. Errors are `{"error": {"code", '
            '"message"}}`. Open311 GeoReport v2 is served separately at /open311/v2.',
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token"},
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The web session; writes also need the X-CSRFToken header",
                },
            },
        },
    }
