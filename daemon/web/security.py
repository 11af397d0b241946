"""Who may see the dashboard and what a response may load.

- Without a token the dashboard binds to loopback only, and answers only requests addressed to a loopback
  name (a page on another site cannot reach it through DNS rebinding).
- With a token (TLH_DASHBOARD_TOKEN or TLH_DASHBOARD_TOKEN_FILE) every request but /healthz, /login and the
  static files needs it: `Authorization: Bearer <token>`, or the HttpOnly session cookie the login form sets
  (an HMAC of the token, so the cookie never carries the token itself and a new token ends every session).
  Without it: 401 and no data.
- Every POST carries a CSRF token equal to the `tlh_csrf` cookie (double submit; the cookie is SameSite=Strict
  and HttpOnly, the form gets the value from the page) and, when the browser says where it comes from, an
  Origin of this very host.
- Every response: a CSP that allows only this origin's styles and images and no script at all, no framing,
  no referrer to other sites, no caching of data.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from daemon.config.secrets import read_secret

TOKEN_VARIABLE = "TLH_DASHBOARD_TOKEN"  # or TLH_DASHBOARD_TOKEN_FILE
MIN_TOKEN_LENGTH = 16
SESSION_COOKIE = "tlh_session"
CSRF_COOKIE = "tlh_csrf"
PUBLIC_PATHS = frozenset({"/healthz", "/login"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'none'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: with it Chrome sends `Origin: null` on a form POST, and the origin check needs the origin.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class TokenError(Exception):
    """The configured token is unusable (unreadable file, too short)."""


class BindRefused(Exception):
    """A non-loopback address without a token."""


def load_token(environ: Mapping[str, str] | None = None) -> str | None:
    try:
        token = read_secret(TOKEN_VARIABLE, environ)
    except Exception as exc:  # SecretError: the file named by _FILE cannot be read
        raise TokenError(str(exc)) from None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(f"{TOKEN_VARIABLE}: the token must be at least {MIN_TOKEN_LENGTH} characters "
                         f"(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return token


def is_loopback(host: str) -> bool:
    host = host.strip().lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise BindRefused(f"refusing to serve the dashboard on {host!r} without a token: set {TOKEN_VARIABLE} "
                          f"(or {TOKEN_VARIABLE}_FILE) or bind to 127.0.0.1")


@dataclass(frozen=True)
class Access:
    token: str | None

    @property
    def required(self) -> bool:
        return self.token is not None

    def session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"tlh-dashboard-session", hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def allows(self, request: Request) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials and self.token_matches(credentials.strip()):
            return True
        cookie = request.cookies.get(SESSION_COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.session_value().encode())


def host_name(header: str) -> str:
    """The host of a Host header: `[::1]:8765` → `::1`, `localhost:80` → `localhost`."""
    return urlsplit(f"//{header}").hostname or ""


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # an opaque origin (sandboxed frame, file:) never posts here
    return urlsplit(origin).netloc == request.headers.get("host", "")


Unauthorized = Callable[[Request], Awaitable[Response]]


class Guard(BaseHTTPMiddleware):
    """Host check, authentication, the CSRF cookie and the security headers, for every request."""

    def __init__(self, app: ASGIApp, access: Access, unauthorized_page: Unauthorized):
        super().__init__(app)
        self.access = access
        self.unauthorized_page = unauthorized_page

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if not self.access.required and not is_loopback(host_name(request.headers.get("host", ""))):
            response: Response = PlainTextResponse("This dashboard answers only on a loopback address.", 421)
            return self._secure(response, path)
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = not csrf or len(csrf) > 100
        request.state.csrf = secrets.token_urlsafe(32) if fresh else csrf
        request.state.signed_in = self.access.required and self.access.allows(request)
        if path in PUBLIC_PATHS or path.startswith("/static/") or request.state.signed_in or not self.access.required:
            response = await call_next(request)
        elif path.startswith("/api/"):
            response = JSONResponse({"error": "unauthorized: send Authorization: Bearer <token>"}, 401,
                                    headers={"WWW-Authenticate": 'Bearer realm="tlh"'})
        else:
            response = await self.unauthorized_page(request)
        if fresh and response.headers.get("content-type", "").startswith("text/html"):
            # Only pages carry forms: an API call or an asset never replaces the cookie a form was built on.
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https", path="/")
        return self._secure(response, path)

    @staticmethod
    def _secure(response: Response, path: str) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
