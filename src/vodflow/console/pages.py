"""The two HTML documents of the console: sign-in, and the shell that console.js fills."""

from __future__ import annotations

import json
from html import escape

# Scripts and styles only from /console/static; media and images may come from the
# public URL vodflow hands out, which can be another origin.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src * data: blob:; media-src * blob:; worker-src 'self' blob:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vodflow console</title>
<link rel="stylesheet" href="/console/static/console.css">
"""


def sign_in_page(error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        _HEAD
        + """</head><body class="signin">
<form method="post" action="/console/login" class="card" id="signin">
<h1>vodflow console</h1>
<p>Sign in with the SecretId and SecretKey that <code>vodflow serve</code> printed,
or a temporary credential (CreateTempCredential).</p>"""
        + problem
        + """
<label>SecretId <input name="SecretId" autocomplete="username" required maxlength="128"></label>
<label>SecretKey <input name="SecretKey" type="password" autocomplete="current-password"
 required maxlength="256"></label>
<button type="submit">Sign in</button>
</form></body></html>"""
    )


def console_page(
    *,
    csrf: str,
    root: bool,
    scoped_app: int | None,
    default_app: int,
    edit_fields: dict[str, list[str]],
) -> str:
    """`edit_fields`: per template kind, the parameters its Modify (Reset) action takes,
    read from the action's own model: the editor keeps only those of a template."""
    scope = "" if scoped_app is None else str(scoped_app)
    fields = escape(json.dumps(edit_fields, separators=(",", ":")))
    return (
        _HEAD
        + f"""<meta name="csrf" content="{escape(csrf)}">
<meta name="scoped-app" content="{scope}">
<meta name="root" content="{"1" if root else ""}">
<meta name="edit-fields" content="{fields}">
<meta name="default-app" content="{default_app}">
<script src="/console/static/sha1.js" defer></script>
<script src="/console/static/console.js" defer></script>
</head><body>
<header>
<strong>vodflow</strong>
<nav>
<a href="#/media">Media</a>
<a href="#/upload">Upload</a>
<a href="#/tasks">Task flows</a>
<a href="#/events">Events</a>
<a href="#/templates">Templates</a>
</nav>
<label class="app">Application <select id="app-switch"></select></label>
<form method="post" action="/console/logout" id="signout">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<button type="submit">Sign out</button>
</form>
</header>
<main id="main"></main>
<div id="toast" role="status"></div>
</body></html>"""
    )
