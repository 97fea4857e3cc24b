"""The object-storage endpoint: the subset of the COS XML API that uploads use.

`cos-python-sdk-v5` with `CosConfig(Domain="<vodflow host:port>", Scheme="http")`
sends object requests to `/<key>`; the keys ApplyUpload hands out all start with
`upload/`, so this endpoint owns `/upload/...`. The bucket may also be named in the
Host (virtual-host style, `<bucket>.cos.<region>.myqcloud.com`, as the browser and
S3 SDKs address it) or in the path (`/<bucket>/upload/...`, S3 path style); a named
bucket must be the session's. Requests are signed with the COS signature
(api/cos_auth.py) or AWS Signature V4 (api/sigv4.py). Supported: simple PUT, HEAD,
multipart initiate / upload part / list parts / complete / abort, and listing a
session's multipart uploads (`GET /?uploads`, which the SDK's resumable
`upload_file` sends to the root, shared with the API route). Every request is
signed with the session's temporary credential and may touch only that
session's keys. Errors are COS-style XML.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from vodflow import ids
from vodflow.api import cos_auth, sigv4
from vodflow.api.server import api_endpoint
from vodflow.core.credentials import Credential
from vodflow.core.upload_objects import KEY_PREFIX, StorageError
from vodflow.core.uploads import UploadService
from vodflow.timeutil import iso

if TYPE_CHECKING:
    from vodflow.services import Services

COMPLETE_BODY_LIMIT = 2 * 1024 * 1024
# A write that fails for want of space (disk full, quota, file size limit) answers
# 507 InsufficientStorage as COS-style XML; anything else unexpected 500 InternalError.
STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
DRAIN_LIMIT = 64 * 1024 * 1024

log = logging.getLogger("vodflow.cos")
OBJECT_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
_VIRTUAL_HOST = re.compile(
    r"^([a-z0-9][a-z0-9-]{0,62})\.cos\.[a-z0-9-]{1,40}\.myqcloud\.com(:\d+)?$"
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}-\d{1,20}$")


def _xml(status: int, root: str, children: str, headers: dict[str, str] | None = None) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{children}</{root}>'
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def _el(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def error_response(status: int, code: str, message: str, resource: str) -> Response:
    request_id = ids.request_id()
    children = (
        _el("Code", code)
        + _el("Message", message)
        + _el("Resource", resource or "/")
        + _el("RequestId", request_id)
        + _el("TraceId", request_id)
    )
    return _xml(status, "Error", children, {"x-cos-request-id": request_id})


def _uploads(request: Request) -> UploadService:
    services: Services = request.app.state.services
    return services.uploads


def _query(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in parse_qsl(request.url.query, keep_blank_values=True)}


class Signed:
    """A verified request: who signed it, and its body decoded and checked."""

    def __init__(
        self, request: Request, credential: Credential, verified: sigv4.Verified | None
    ) -> None:
        self.request = request
        self.credential = credential
        self.verified = verified

    def body(self) -> AsyncIterator[bytes]:
        raw = _body(self.request)
        if self.verified is not None:
            return self.verified.body(raw)
        headers = {k.lower(): v for k, v in self.request.headers.items()}
        return sigv4.checked_body(headers, raw)


async def _authenticate(request: Request) -> Signed:
    services: Services = request.app.state.services
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    headers = {k.lower(): v for k, v in request.headers.items()}
    req = cos_auth.CosRequest(
        method=request.method,
        raw_path=raw_path.split("?", 1)[0],
        query=request.url.query,
        headers=headers,
    )
    if sigv4.applies(headers):
        verified = await sigv4.verify(req, services.credentials.lookup, time.time())
        return Signed(request, verified.credential, verified)
    if "x-amz-algorithm" in {k.lower() for k in _query(request)}:
        raise cos_auth.CosAuthError(
            "AccessDenied", "Query-string (presigned) authentication is not supported."
        )
    credential = await cos_auth.verify(req, services.credentials.lookup, time.time())
    return Signed(request, credential, None)


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


def _declared_too_big(request: Request, limit: int) -> bool:
    declared = request.headers.get("x-amz-decoded-content-length") or request.headers.get(
        "content-length", ""
    )
    return declared.isdigit() and int(declared) > limit


def host_bucket(request: Request) -> str | None:
    """The bucket a virtual-host-style request names in its Host, if any."""
    m = _VIRTUAL_HOST.match(request.headers.get("host", "").lower())
    return m[1] if m else None


def _check_bucket(named: str | None, session: dict[str, Any]) -> None:
    if named is not None and named != session_bucket(session):
        raise StorageError(404, "NoSuchBucket", "The specified bucket does not exist.")


async def root_endpoint(request: Request) -> Response:
    """`/`: the VOD API, except the COS multipart listing (`GET /?uploads`)."""
    if request.method == "GET" and "uploads" in _query(request):
        return await _guard(request, _list_uploads, "/")
    return await api_endpoint(request)


async def object_endpoint(request: Request) -> Response:
    path = request.url.path
    return await _guard(request, _object, path)


async def bucket_object_endpoint(request: Request) -> Response:
    """`/<bucket>/upload/...`: S3 path-style addressing."""
    if not _BUCKET.match(request.path_params.get("bucket", "")):
        return error_response(404, "NoSuchBucket", "The specified bucket does not exist.", "/")
    return await _guard(request, _object, request.url.path)


async def _guard(
    request: Request, handler: Callable[[Request], Awaitable[Response]], resource: str
) -> Response:
    try:
        return await handler(request)
    except cos_auth.CosAuthError as exc:
        return error_response(403, exc.code, exc.message, resource)
    except StorageError as exc:
        return error_response(exc.status, exc.code, exc.message, resource)
    except ClientDisconnect:
        return Response(status_code=499)
    except OSError as exc:
        if exc.errno not in STORAGE_FULL:
            log.exception("COS request %s %s failed", request.method, resource[:200])
            return error_response(500, "InternalError", "Internal error.", resource)
        log.error("COS write refused: %s", exc)
        await _drain(request)
        return error_response(
            507, "InsufficientStorage", "The server has no space left for this object.", resource
        )
    except Exception:
        log.exception("COS request %s %s failed", request.method, resource[:200])
        return error_response(500, "InternalError", "Internal error.", resource)


async def _drain(request: Request) -> None:
    """Read (and drop) what is left of a refused body, up to DRAIN_LIMIT, so that the
    client reads the answer instead of a reset connection."""
    left = DRAIN_LIMIT
    with contextlib.suppress(Exception):
        while left > 0:
            message = await request.receive()
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return


async def _list_uploads(request: Request) -> Response:
    credential = (await _authenticate(request)).credential
    uploads = _uploads(request)
    query = _query(request)
    prefix = query.get("prefix", "")
    rows = await uploads.list_uploads(credential)
    items = "".join(
        "<Upload>"
        + _el("Key", quote(r["object_key"]))
        + _el("UploadId", r["upload_id"])
        + _el("StorageClass", "STANDARD")
        + _el("Initiated", iso(r["create_time"]))
        + "</Upload>"
        for r in rows
        if r["object_key"].startswith(prefix.lstrip("/"))
    )
    children = (
        _el("Bucket", "vodflow")
        + _el("Encoding-Type", "url")
        + _el("Prefix", quote(prefix))
        + _el("MaxUploads", 1000)
        + _el("IsTruncated", "false")
        + items
    )
    return _xml(200, "ListMultipartUploadsResult", children)


async def _object(request: Request) -> Response:
    raw = request.url.path
    key = unquote(raw.lstrip("/")) if raw.startswith("/") else raw
    named = request.path_params.get("bucket") or host_bucket(request)
    if "bucket" in request.path_params:
        key = key.split("/", 1)[1]
    # Keys are compared as received: anything not exactly a session key is refused.
    signed = await _authenticate(request)
    credential = signed.credential
    if not key.startswith(KEY_PREFIX) or ".." in key.split("/") or "\\" in key:
        raise StorageError(403, "AccessDenied", "This object key is not writable.")
    uploads = _uploads(request)
    session = await uploads.session_for(credential, key)
    _check_bucket(named, session)
    query = _query(request)
    method = request.method
    limit = uploads.limit_for(key)

    if "uploadid" in query:
        upload_id = query["uploadid"]
        await uploads.multipart(session, key, upload_id)
        if method == "PUT":
            if _declared_too_big(request, limit):
                raise StorageError(400, "EntityTooLarge", "The part exceeds the maximum size.")
            try:
                number = int(query.get("partnumber", ""))
            except ValueError:
                raise StorageError(400, "InvalidArgument", "partNumber is not a number.") from None
            etag = await uploads.put_part(key, upload_id, number, signed.body())
            return Response(status_code=200, headers={"ETag": etag})
        if method == "POST":
            wanted = await _complete_list(signed.body())
            etag, _size = await uploads.complete(session, key, upload_id, wanted)
            children = (
                _el("Location", f"{request.url.netloc}/{key}")
                + _el("Bucket", session_bucket(session))
                + _el("Key", key)
                + _el("ETag", etag)
            )
            return _xml(200, "CompleteMultipartUploadResult", children)
        if method == "DELETE":
            await uploads.abort(key, upload_id)
            return Response(status_code=204)
        if method == "GET":
            return _list_parts(uploads, session, key, upload_id, query)
        raise StorageError(405, "MethodNotAllowed", "Unsupported method for a multipart upload.")

    if method == "POST" and "uploads" in query:
        upload_id = await uploads.initiate(session, key)
        children = (
            _el("Bucket", session_bucket(session)) + _el("Key", key) + _el("UploadId", upload_id)
        )
        return _xml(200, "InitiateMultipartUploadResult", children)
    if method == "PUT":
        if _declared_too_big(request, limit):
            raise StorageError(
                400, "EntityTooLarge", f"The object exceeds the maximum upload size of {limit}."
            )
        etag, _size = await uploads.put_object(session, key, signed.body())
        return Response(status_code=200, headers={"ETag": etag})
    if method == "HEAD":
        found = await uploads.head_object(key)
        if found is None:
            return Response(status_code=404)
        size, etag, mtime = found
        return Response(
            status_code=200,
            headers={
                "Content-Length": str(size),
                "ETag": etag,
                "Last-Modified": formatdate(mtime, usegmt=True),
            },
        )
    raise StorageError(405, "MethodNotAllowed", "Objects here can only be written.")


def session_bucket(session: dict[str, Any]) -> str:
    return f"vodflow-{session['app_id']}"


def _list_parts(
    uploads: UploadService,
    session: dict[str, Any],
    key: str,
    upload_id: str,
    query: dict[str, str],
) -> Response:
    try:
        marker = int(query.get("part-number-marker", "0") or 0)
        max_parts = max(1, min(int(query.get("max-parts", "1000") or 1000), 1000))
    except ValueError:
        raise StorageError(400, "InvalidArgument", "Bad part-number-marker/max-parts.") from None
    parts = [p for p in uploads.parts(key, upload_id) if p.number > marker]
    page, rest = parts[:max_parts], parts[max_parts:]
    items = "".join(
        "<Part>"
        + _el("PartNumber", p.number)
        + _el("LastModified", iso(p.mtime))
        + _el("ETag", p.etag)
        + _el("Size", p.size)
        + "</Part>"
        for p in page
    )
    children = (
        _el("Bucket", session_bucket(session))
        + _el("Encoding-type", "url")
        + _el("Key", quote(key))
        + _el("UploadId", upload_id)
        + _el("StorageClass", "STANDARD")
        + _el("PartNumberMarker", marker)
        + _el("NextPartNumberMarker", page[-1].number if page else marker)
        + _el("MaxParts", max_parts)
        + _el("IsTruncated", "true" if rest else "false")
        + items
    )
    return _xml(200, "ListPartsResult", children)


async def _complete_list(chunks: AsyncIterator[bytes]) -> list[tuple[int, str]]:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > COMPLETE_BODY_LIMIT:
            raise StorageError(400, "EntityTooLarge", "The part list is too long.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise StorageError(400, "MalformedXML", "DTDs are not accepted.")
    try:
        root = ET.fromstring(bytes(body))
    except ET.ParseError:
        raise StorageError(400, "MalformedXML", "The part list is not well-formed XML.") from None
    wanted: list[tuple[int, str]] = []
    for part in root.iter():
        if part.tag.rsplit("}", 1)[-1] != "Part":
            continue
        fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in part}
        try:
            wanted.append((int(fields.get("PartNumber", "")), fields.get("ETag", "")))
        except ValueError:
            raise StorageError(400, "MalformedXML", "A PartNumber is not a number.") from None
    return wanted
