"""OpenAPI links: which answer names the record the next call takes.

A client (or a stateful fuzzer) reads here that the diversion a
``POST /diversions`` answers can be read, decided and costed by its id, and
that a lot a ``POST /lots`` records can be received and traced. They are
added to the generated schema once, by path and method, so a route's
operationId is never spelt out by hand.
"""

from __future__ import annotations

from typing import Any, Final

#: (path, method) of a write -> link name -> (path, method, parameter, where its value is).
LINKS: Final[dict[tuple[str, str], dict[str, tuple[str, str, str, str]]]] = {
    ("/diversions", "post"): {
        f"{verb}Diversion": (path, method, "diversion_id", "$response.body#/diversion/id")
        for verb, path, method in (
            ("Get", "/diversions/{diversion_id}", "get"),
            ("Approve", "/diversions/{diversion_id}/approve", "post"),
            ("Reject", "/diversions/{diversion_id}/reject", "post"),
            ("Void", "/diversions/{diversion_id}/void", "post"),
            ("ImpactOf", "/diversions/{diversion_id}/impact", "get"),
        )
    },
    ("/lots", "post"): {
        "ReceiveLot": ("/lots/{lot}/receive", "post", "lot", "$request.body#/id"),
        "TraceLot": ("/lots/{lot}/trace", "get", "lot", "$request.body#/id"),
    },
}


def add_links(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Put :data:`LINKS` on the 200 answers of ``schema`` (paths under ``prefix``)."""
    paths = schema["paths"]
    for (path, method), links in LINKS.items():
        answer = paths[prefix + path][method]["responses"]["200"]
        answer["links"] = {
            name: {
                "operationId": paths[prefix + target][how]["operationId"],
                "parameters": {parameter: value},
            }
            for name, (target, how, parameter, value) in links.items()
        }
    return schema
