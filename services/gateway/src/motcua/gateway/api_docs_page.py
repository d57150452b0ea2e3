"""`/docs`: the platform's API, read from the merged OpenAPI document as one HTML page rendered here.

Not Swagger UI: its assets would come from a CDN (the CSP allows nothing from elsewhere, and a deployment may
have no internet) and it sets inline styles, which `style-src 'self'` refuses. This page needs no script at all:
every operation (method, path, summary, description, parameters, request body, answers) grouped by tag, with a
table of contents and a link to the machine-readable `/openapi.json`. Every text from a service is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLESHEET = """body { font: 16px/1.5 system-ui, sans-serif; color: #1b1b1b;
  max-width: 72rem; margin: 0 auto; padding: 1rem; }
a { color: #0b4f9c; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
code { font-family: ui-monospace, monospace; }
.toc, .toc ul { list-style: none; padding-left: 1rem; }
.operation { border-top: 1px solid #c9c9c9; padding: .5rem 0; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700; font-family: ui-monospace, monospace; }
.method-get { color: #0b5e2a; }
.method-post { color: #0b4f9c; }
.method-put, .method-patch { color: #7a4a00; }
.method-delete { color: #a4161a; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #c9c9c9; padding: .25rem .5rem; text-align: left; }
caption { text-align: left; font-weight: 700; }
"""

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def _anchor(method: str, path: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in path).strip("-")
    return f"op-{method}-{cleaned}"


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_schema_name(schema['items'])}"
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " or ".join(_schema_name(s) for s in schema[key] if isinstance(s, dict))
    return str(schema.get("type", "object"))


def operations(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(tag, method, path, operation) for every operation of the document, in path order."""
    found = []
    for path, item in document.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                tags = operation.get("tags") or ["other"]
                found.append((str(tags[0]), method, str(path), operation))
    return found


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    parts = [
        f'<section class="operation" id="{_anchor(method, path)}">',
        f'<h3><span class="method method-{method}">{method.upper()}</span> <code>{escape(path)}</code></h3>',
    ]
    if op.get("summary"):
        parts.append(f"<p><strong>{escape(str(op['summary']))}</strong></p>")
    if op.get("description"):
        parts += [f"<p>{escape(p)}</p>" for p in str(op["description"]).split("\n\n") if p.strip()]
    params = [p for p in op.get("parameters", []) if isinstance(p, dict)]
    if params:
        parts.append(
            '<table><caption>Parameters</caption><thead><tr><th scope="col">name</th>'
            '<th scope="col">in</th><th scope="col">type</th><th scope="col">required</th></tr></thead><tbody>'
        )
        for p in params:
            parts.append(
                f'<tr><th scope="row"><code>{escape(str(p.get("name", "")))}</code></th>'
                f"<td>{escape(str(p.get('in', '')))}</td><td>{escape(_schema_name(p.get('schema') or {}))}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td></tr>"
            )
        parts.append("</tbody></table>")
    body = op.get("requestBody")
    if isinstance(body, dict):
        kinds = ", ".join(
            f"{escape(kind)} ({escape(_schema_name((spec or {}).get('schema') or {}))})"
            for kind, spec in (body.get("content") or {}).items()
        )
        parts.append(f"<p>Request body: {kinds}</p>")
    answers = op.get("responses") or {}
    if answers:
        listed = "".join(
            f"<li><code>{escape(str(code))}</code> {escape(str((answer or {}).get('description', '')))}</li>"
            for code, answer in answers.items()
        )
        parts.append(f"<p>Answers:</p><ul>{listed}</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def render(document: dict[str, Any]) -> str:
    """The whole page."""
    info = document.get("info", {})
    title = escape(str(info.get("title", "API")))
    grouped: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for tag, method, path, op in operations(document):
        grouped.setdefault(tag, []).append((method, path, op))
    toc = "".join(
        f"<li>{escape(tag)}<ul>"
        + "".join(
            f'<li><a href="#{_anchor(m, p)}"><span class="method method-{m}">{m.upper()}</span> {escape(p)}</a></li>'
            for m, p, _ in ops
        )
        + "</ul></li>"
        for tag, ops in grouped.items()
    )
    sections = "".join(
        f'<section class="tag"><h2>{escape(tag)}</h2>'
        + "".join(_operation(m, p, op) for m, p, op in ops)
        + "</section>"
        for tag, ops in grouped.items()
    )
    count = sum(len(ops) for ops in grouped.values())
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} — API documentation</title>"
        '<link rel="stylesheet" href="/docs.css"></head><body>'
        '<a class="skip" href="#main">Skip to the operations</a>'
        f"<header><h1>{title} — API documentation</h1>"
        f"<p>{escape(str(info.get('description', '')))}</p>"
        f"<p>{count} operations, version {escape(str(info.get('version', '')))}. The machine-readable document: "
        '<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). <a href="/">Back to the portal</a>.</p></header>'
        f'<nav aria-label="Operations"><ul class="toc">{toc}</ul></nav>'
        f'<main id="main">{sections}</main></body></html>\n'
    )
