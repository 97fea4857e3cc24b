"""The web console at /console: a browser front end over the same actions as the API.

A signed-in browser holds a short-lived console credential (issued by
core.credentials, scope "web") in an HttpOnly cookie; every change carries a
CSRF token. Each console call runs through api.server.dispatch, the very path a
TC3-signed API call takes after its signature is checked: same validation, same
services, same error codes and messages.
"""
