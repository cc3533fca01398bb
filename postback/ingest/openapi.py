"""OpenAPI description of the postback endpoint, which runs below FastAPI's router."""

from __future__ import annotations

from typing import Any

from postback.ingest import fields

_DESCRIPTIONS = {
    "conversion_id": "Involve Asia conversion id (required)",
    "datetime_conversion": "YYYY-MM-DD HH:MM:SS (partner's timezone), ISO 8601 or epoch seconds",
    "status": "approved / pending / rejected / … (normalised; the original is kept)",
    "conversion_currency": "ISO 4217 code",
}


def _parameters() -> list[dict[str, Any]]:
    names = ["conversion_id", *sorted(fields.KNOWN_FIELDS - {"conversion_id"})]
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": _DESCRIPTIONS.get(name, ""),
        }
        for name in names
    ]


def _operation(method: str) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/PostbackError"}
    operation: dict[str, Any] = {
        "tags": ["postback"],
        "summary": f"Receive a conversion postback ({method.upper()})",
        "operationId": f"receive_postback_{method}",
        "parameters": _parameters(),
        "responses": {
            "200": {
                "description": "Stored",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PostbackAccepted"}
                    }
                },
            },
            "413": {
                "description": "Body too large",
                "content": {"application/json": {"schema": error}},
            },
            "422": {
                "description": "Refused (kept as a rejection)",
                "content": {"application/json": {"schema": error}},
            },
            "429": {"description": "Over the partner's rate limit"},
            "503": {"description": "Temporarily unable to store; retry"},
        },
    }
    if method == "post":
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}},
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": True}
                },
            },
        }
    return operation


def add_postback_paths(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("paths", {})["/postback/"] = {
        "get": _operation("get"),
        "post": _operation("post"),
    }
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["PostbackAccepted"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "id": {
                "type": ["integer", "null"],
                "description": "The stored row; null while the postback waits in the spool",
            },
            "conversion_id": {"type": "string"},
            "duplicate": {
                "type": "boolean",
                "description": "Always false for a spooled postback (decided when it is stored)",
            },
            "tenant": {"type": "string"},
            "spooled": {
                "type": "boolean",
                "description": "Present and true when the database was away and the postback "
                "was durably kept in the local spool; it is stored when the database is back",
            },
        },
        "required": ["status", "id", "conversion_id", "duplicate", "tenant"],
    }
    schemas["PostbackError"] = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["error"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    return schema
