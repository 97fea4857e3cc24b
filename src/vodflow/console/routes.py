"""The console's HTTP routes, mounted at /console by app.routes().

- GET  /console                 the sign-in page, or the console itself
- POST /console/login           SecretId + SecretKey -> session cookie
- POST /console/logout          revoke the session (CSRF token in the form)
- POST /console/api/{action}    one API action, as the session's credential (CSRF header)
- GET  /console/live            Server-Sent Events: the task list, or one task, as it moves
- GET  /console/static/...      the committed JS and CSS
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from vodflow import ids
from vodflow.api import envelope, params
from vodflow.api.registry import ACTIONS
from vodflow.api.server import dispatch, read_body
from vodflow.console import pages, session
from vodflow.console.extras import EXTRAS
from vodflow.console.live import live_stream
from vodflow.core.credentials import Credential
from vodflow.errors import VodError

if TYPE_CHECKING:
    from vodflow.services import Services

log = logging.getLogger("vodflow.console")
STATIC = Path(__file__).parent / "static"
FORM_LIMIT = 4096


TEMPLATE_KINDS = (
    "Transcode",
    "AdaptiveDynamicStreaming",
    "SnapshotByTimeOffset",
    "SampleSnapshot",
    "ImageSprite",
    "AnimatedGraphics",
)


def _edit_fields() -> dict[str, list[str]]:
    """What each kind's Modify action (ResetProcedureTemplate for procedures) takes."""
    actions = {k: f"Modify{k}Template" for k in TEMPLATE_KINDS}
    actions["Procedure"] = "ResetProcedureTemplate"
    return {
        kind: sorted(set(ACTIONS[name].model.model_fields) - {"SubAppId", "Definition"})
        for kind, name in actions.items()
    }


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _foreign(request: Request) -> bool:
    """A POST another site's page sent: its Origin is not this server's.

    SameSite=Strict already keeps the cookie off such requests; this also stops a
    cross-site sign-in form (login CSRF), which carries no cookie at all.
    """
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or a same-origin GET
        return False
    host = request.headers.get("host", "")
    # Behind a proxy that rewrites Host, the public URL's origin is the page's.
    public = urlsplit(_services(request).settings.resolved_public_url)
    return origin not in (f"http://{host}", f"https://{host}", f"{public.scheme}://{public.netloc}")


async def index(request: Request) -> Response:
    services = _services(request)
    current = await session.current(request, services.credentials)
    if current is None:
        return HTMLResponse(pages.sign_in_page(), headers=pages.HEADERS)
    return HTMLResponse(
        pages.console_page(
            csrf=session.csrf_token(current),
            root=session.is_root(current),
            scoped_app=current.app_id,
            default_app=services.apps.default_app_id,
            edit_fields=_edit_fields(),
        ),
        headers=pages.HEADERS,
    )


async def login(request: Request) -> Response:
    services = _services(request)
    if _foreign(request):
        return _refused(403, "InvalidOrigin", "Sign in from the console's own page.")
    try:
        body = await read_body(request, FORM_LIMIT)
    except VodError:
        return HTMLResponse(pages.sign_in_page("The form is too large."), 413, pages.HEADERS)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    # Guessing keys costs a slot of the same per-SecretId rate limit as API calls.
    if not services.limiter.allow(form.get("SecretId", "")[:128], "ConsoleSignIn"):
        return HTMLResponse(pages.sign_in_page("Too many attempts; wait a second."), 429)
    try:
        issued = await session.sign_in(
            services.credentials, form.get("SecretId", ""), form.get("SecretKey", "")
        )
    except VodError as exc:
        return HTMLResponse(pages.sign_in_page(exc.message), 401, pages.HEADERS)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        session.COOKIE,
        session.cookie_value(issued),
        max_age=session.max_age(issued),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


async def logout(request: Request) -> Response:
    services = _services(request)
    if _foreign(request):
        return _refused(403, "InvalidOrigin", "Sign out from the console's own page.")
    current = await session.current(request, services.credentials)
    if current is not None:
        try:
            body = await read_body(request, FORM_LIMIT)
        except VodError as exc:
            return _refused(413, exc.code, exc.message)
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        token = form.get("csrf", "") or request.headers.get("x-csrf-token", "")
        if not session.csrf_ok(current, token):
            return _refused(403, "InvalidCsrfToken", "The CSRF token is missing or wrong.")
        await services.credentials.revoke(current.secret_id)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(session.COOKIE, path="/console", httponly=True, samesite="strict")
    return response


def _refused(status: int, code: str, message: str) -> JSONResponse:
    body = {"Response": {"Error": {"Code": code, "Message": message}}}
    return JSONResponse(body, status_code=status)


async def _session_or_refusal(request: Request) -> tuple[Credential | None, Response | None]:
    current = await session.current(request, _services(request).credentials)
    if current is None:
        return None, _refused(401, "AuthFailure.SessionExpired", "Sign in to the console.")
    return current, None


async def api(request: Request) -> Response:
    """One action as the signed-in credential: the API's own dispatch, envelope and codes."""
    services = _services(request)
    current, refusal = await _session_or_refusal(request)
    if current is None:
        assert refusal is not None
        return refusal
    if _foreign(request) or not session.csrf_ok(current, request.headers.get("x-csrf-token", "")):
        return _refused(403, "InvalidCsrfToken", "The CSRF token is missing or wrong.")
    request_id = ids.request_id()
    name = request.path_params["action"]
    try:
        # The API's own body rules: size, JSON, nesting depth, an object of parameters.
        raw = params.from_json(await read_body(request, services.settings.max_body_bytes))
        acting = session.acting(current, services.credentials)
        extra = EXTRAS.get(name)
        if extra is not None:
            result: Any = await extra(services, acting, raw)
        else:
            result = await dispatch(
                services, acting, name, raw, request_id, limit_key=current.secret_id
            )
        return envelope.ok(result, request_id)
    except VodError as exc:
        return envelope.error(exc.code, exc.message, request_id)
    except Exception:
        log.exception("InternalError in console %s (RequestId %s)", name[:64], request_id)
        return envelope.error(
            "InternalError", f"An internal error occurred; RequestId {request_id}.", request_id
        )


async def live(request: Request) -> Response:
    current, refusal = await _session_or_refusal(request)
    if current is None:
        assert refusal is not None
        return refusal
    services = _services(request)
    return await live_stream(request, services, current)


def console_routes() -> list[BaseRoute]:
    return [
        Route("/console", index, methods=["GET"]),
        Route("/console/", index, methods=["GET"]),
        Route("/console/login", login, methods=["POST"]),
        Route("/console/logout", logout, methods=["POST"]),
        Route("/console/api/{action}", api, methods=["POST"]),
        Route("/console/live", live, methods=["GET"]),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
