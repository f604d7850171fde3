"""The OpenAPI 3.1 description of the local API, served at ``/openapi.json``.

Written out by hand (it is small) so that it is the contract: the tests fuzz the live API
against it with schemathesis, and a front end can generate its client from it.
"""

from __future__ import annotations

from typing import Any

from . import API_VERSION

_NULL_STR: dict[str, Any] = {"type": ["string", "null"]}
_NULL_NUM: dict[str, Any] = {"type": ["number", "null"]}
_ANY: dict[str, Any] = {}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "the request cannot be honoured as sent (the message says why)",
        401: "missing or wrong bearer token",
        404: "no such resource",
        409: "the conflict is already resolved",
        421: "Host is not 127.0.0.1 or localhost (DNS rebinding guard)",
        403: "Origin is not Obsidian or localhost",
    }
    return {str(c): _json(_ref("Error"), text[c]) for c in (401, 403, 421, *codes)}


RUN: dict[str, Any] = {
    "type": "object",
    "required": ["id", "reason", "dry_run", "status", "queued_at"],
    "properties": {
        "id": {"type": "string", "description": "the daemon's id for this pass"},
        "reason": {"type": "string", "description": "what asked for it (api, vault change, ...)"},
        "dry_run": {"type": "boolean"},
        "status": {"enum": ["queued", "running", "done", "failed"]},
        "queued_at": {"type": "number"},
        "started_at": _NULL_NUM,
        "finished_at": _NULL_NUM,
        "state_run_id": {
            "type": ["integer", "null"],
            "description": "the run journal's id (`pllm-sync status`)",
        },
        "progress": {"type": ["object", "null"]},
        "plan": {
            "type": ["object", "null"],
            "description": "counts and the first planned actions with field diffs",
        },
        "applied": {"type": ["object", "null"]},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}

CONFLICT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "paper", "field", "base", "zotero", "vault", "list", "open"],
    "properties": {
        "id": {"type": "integer"},
        "paper": {"type": "string", "description": "the paper's pllm-sync id"},
        "title": _NULL_STR,
        "note_path": _NULL_STR,
        "field": {"type": "string"},
        "base": {**_ANY, "description": "the value both sides last agreed on"},
        "zotero": {**_ANY, "description": "the value in Zotero"},
        "vault": {**_ANY, "description": "the value in the note"},
        "list": {**_ANY, "description": "the value in the catalog (awesome list), if it has one"},
        "open": {"type": "boolean"},
        "resolution": _NULL_STR,
    },
}

PAPER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "note_path", "zotero_key", "status", "conflicts"],
    "properties": {
        "id": {"type": "string"},
        "title": _NULL_STR,
        "note_path": _NULL_STR,
        "zotero_key": _NULL_STR,
        "zotero_link": _NULL_STR,
        "lists": {"type": "array", "items": {"type": "string"}},
        "sections": {"type": "array", "items": {"type": "string"}},
        "status": _NULL_STR,
        "catalog": {"type": "string", "description": "listed | removed | not listed"},
        "last_run": {"type": ["integer", "null"], "description": "last run that wrote it"},
        "conflicts": {"type": "array", "items": _ref("Conflict")},
    },
}

STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["api_version", "daemon", "running", "queue", "last_runs", "conflicts"],
    "properties": {
        "api_version": {"type": "string"},
        "daemon": {
            "type": "object",
            "required": ["pid", "started_at", "vault"],
            "properties": {
                "pid": {"type": "integer"},
                "version": {"type": "string"},
                "started_at": {"type": "number"},
                "vault": {"type": "string"},
                "zotero": _NULL_STR,
                "stream": {"type": "object"},
            },
        },
        "running": {"anyOf": [_ref("Run"), {"type": "null"}]},
        "queue": {"type": "integer", "description": "passes waiting"},
        "last_runs": {"type": "array", "items": _ref("Run")},
        "conflicts": {"type": "integer", "description": "open conflicts"},
    },
}

SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def openapi_document() -> dict[str, Any]:
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pllm-sync local API",
            "version": API_VERSION,
            "description": "Served by `pllm-sync watch` on 127.0.0.1 for plugin front ends. "
            "Send `Authorization: Bearer <token>`; the token is in the file named by "
            "`api_token_file` in daemon.json (`pllm-sync status --json`).",
        },
        "servers": [{"url": "http://127.0.0.1:23120"}],
        "security": SECURED,
        "paths": {
            "/v1/status": {
                "get": {
                    "operationId": "getStatus",
                    "summary": "the daemon, its last runs, the running pass, queue, conflicts",
                    "responses": {"200": _json(_ref("Status"), "status"), **_errors()},
                }
            },
            "/v1/sync": {
                "post": {
                    "operationId": "startSync",
                    "summary": "start a pass now (joins a pass already queued)",
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"dry_run": {"type": "boolean"}},
                                }
                            }
                        },
                    },
                    "responses": {"202": _json(_ref("Run"), "queued"), **_errors(400)},
                }
            },
            "/v1/runs/{run_id}": {
                "get": {
                    "operationId": "getRun",
                    "parameters": [run_id],
                    "responses": {"200": _json(_ref("Run"), "the run"), **_errors(404)},
                }
            },
            "/v1/conflicts": {
                "get": {
                    "operationId": "listConflicts",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["conflicts"],
                                "properties": {
                                    "conflicts": {"type": "array", "items": _ref("Conflict")}
                                },
                            },
                            "open conflicts",
                        ),
                        **_errors(),
                    },
                }
            },
            "/v1/conflicts/{conflict_id}/resolve": {
                "post": {
                    "operationId": "resolveConflict",
                    "summary": "take one side, or give the merged value; a pass applies it",
                    "parameters": [
                        {
                            "name": "conflict_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 0},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {
                                            "type": "object",
                                            "required": ["take"],
                                            "properties": {"take": {"enum": ["zotero", "vault"]}},
                                            "additionalProperties": False,
                                        },
                                        {
                                            "type": "object",
                                            "required": ["value"],
                                            "properties": {"value": _ANY},
                                            "additionalProperties": False,
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json(
                            {
                                "type": "object",
                                "required": ["conflict", "run"],
                                "properties": {
                                    "conflict": _ref("Conflict"),
                                    "run": _ref("Run"),
                                },
                            },
                            "recorded; the run carries the value to both sides",
                        ),
                        **_errors(400, 404, 409),
                    },
                }
            },
            "/v1/papers": {
                "get": {
                    "operationId": "searchPapers",
                    "parameters": [
                        {
                            "name": "query",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "words in the title, id, note path or Zotero key",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["papers"],
                                "properties": {"papers": {"type": "array", "items": _ref("Paper")}},
                            },
                            "matching papers",
                        ),
                        **_errors(400),
                    },
                }
            },
            "/v1/papers/{pllm_id}": {
                "get": {
                    "operationId": "getPaper",
                    "parameters": [
                        {
                            "name": "pllm_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": _json(_ref("Paper"), "the paper"), **_errors(404)},
                }
            },
            "/v1/events": {
                "get": {
                    "operationId": "events",
                    "summary": "server-sent events: run.queued/started/progress/done, "
                    "conflict.opened/resolved, error; `id:` lines, heartbeats, resume with "
                    "Last-Event-ID. Read it with fetch() and the bearer header.",
                    "parameters": [
                        {
                            "name": "Last-Event-ID",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "an endless event stream",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        **_errors(400),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "this document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Run": RUN,
                "Conflict": CONFLICT,
                "Paper": PAPER,
                "Status": STATUS,
            },
        },
    }
