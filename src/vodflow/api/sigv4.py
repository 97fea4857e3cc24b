"""AWS Signature Version 4 for the object-storage endpoint, as S3 (and so COS) checks it.

S3 clients (boto3, the AWS SDK for JavaScript inside vod-js-sdk-v6) sign the
canonical request: method, URI path, sorted query, the signed headers and the
payload hash they put in `x-amz-content-sha256`. That hash is a hex SHA-256 of
the body (checked while the body streams), `UNSIGNED-PAYLOAD`, or one of the
`aws-chunked` encodings: `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` (every
chunk signed, chained from the seed signature) and
`STREAMING-UNSIGNED-PAYLOAD-TRAILER` (a checksum trailer). The checksum headers
(`x-amz-checksum-crc32`, `-sha1`, `-sha256`, `Content-MD5`) are verified over the
decoded body; the ones vodflow cannot compute are refused by name. Nothing here
buffers more than one chunk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from vodflow.api.cos_auth import CosAuthError, CosRequest, Lookup
from vodflow.core.credentials import Credential
from vodflow.core.upload_objects import StorageError

ALGORITHM = "AWS4-HMAC-SHA256"
SKEW_S = 15 * 60  # S3's allowed clock difference
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_CHUNK_HEADER = 4096
MAX_CHUNK = 16 * 1024 * 1024  # one chunk is held in memory while its signature is checked
MAX_TRAILER = 4096
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
CHECKSUMS = ("crc32", "sha1", "sha256")
UNSUPPORTED_CHECKSUMS = ("crc32c", "crc64nvme")


def applies(headers: dict[str, str]) -> bool:
    return headers.get("authorization", "").startswith(ALGORITHM)


def _q(value: str, safe: str = "-_.~") -> str:
    return quote(value.encode("utf-8"), safe)


@dataclass
class _Auth:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(value: str) -> _Auth:
    if len(value) > 4096:
        raise CosAuthError("AuthorizationHeaderMalformed", "The Authorization header is too long.")
    rest = value[len(ALGORITHM) :].strip()
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, val = part.strip().partition("=")
        if sep:
            fields[name] = val
    try:
        credential = fields["Credential"].split("/")
        access_key, date, region, service, terminal = credential
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"].lower()
    except (KeyError, ValueError):
        raise CosAuthError(
            "AuthorizationHeaderMalformed",
            "The Authorization header needs Credential=<key>/<date>/<region>/<service>/"
            "aws4_request, SignedHeaders and Signature.",
        ) from None
    if terminal != "aws4_request" or not re.fullmatch(r"\d{8}", date):
        raise CosAuthError("AuthorizationHeaderMalformed", "The credential scope is malformed.")
    if not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise CosAuthError("AuthorizationHeaderMalformed", "The Signature is not 64 hex digits.")
    return _Auth(access_key, date, region, service, signed, signature)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_query(query: str) -> str:
    pairs = [(_q(k), _q(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    req: CosRequest, path: str, signed_headers: list[str], payload_hash: str
) -> str:
    lines = []
    for name in signed_headers:
        value = req.headers.get(name)
        if value is None:
            raise CosAuthError("AccessDenied", f"The signed header {name[:64]} is missing.")
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "\n".join(
        [
            req.method.upper(),
            path,
            canonical_query(req.query),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def _hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _sha_hex(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@dataclass
class Verified:
    """A request SigV4 verified, and how its body is to be read and checked."""

    credential: Credential
    payload_hash: str
    key: bytes
    amz_date: str
    scope: str
    seed_signature: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def chunked(self) -> bool:
        return self.payload_hash.startswith("STREAMING-")

    def body(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The decoded, verified body: StorageError when anything does not match."""
        checker = _Checks(self.headers, self.payload_hash)
        if self.chunked:
            return checker.wrap(_dechunk(chunks, self, checker))
        return checker.wrap(chunks)


async def verify(req: CosRequest, lookup: Lookup, now: float) -> Verified:
    """The credential that signed this SigV4 request, or CosAuthError."""
    auth = parse_authorization(req.headers.get("authorization", ""))
    amz_date = req.headers.get("x-amz-date", "")
    if not _AMZ_DATE.match(amz_date):
        raise CosAuthError("AccessDenied", "x-amz-date is missing or malformed.")
    if "host" not in auth.signed_headers:
        raise CosAuthError("AccessDenied", "The host header must be signed.")
    payload_hash = req.headers.get("x-amz-content-sha256", "")
    known = (UNSIGNED, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)
    if payload_hash not in known and not _HEX64.match(payload_hash):
        raise CosAuthError(
            "InvalidArgument",
            "x-amz-content-sha256 must be a SHA-256, UNSIGNED-PAYLOAD or STREAMING-*.",
        )
    credential = await lookup(auth.access_key[:128])
    if credential is None:
        raise CosAuthError("InvalidAccessKeyId", "The access key does not exist.")
    if credential.expired:
        raise CosAuthError("ExpiredToken", "The temporary credential has expired.")
    if credential.token and not credential.token_matches(
        req.headers.get("x-amz-security-token", "")
    ):
        raise CosAuthError("InvalidToken", "x-amz-security-token does not match the credential.")
    when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if abs(now - when) > SKEW_S:
        raise CosAuthError(
            "RequestTimeTooSkewed", "The difference between the request time and now is too large."
        )
    if auth.date != amz_date[:8]:
        raise CosAuthError("SignatureDoesNotMatch", "The scope date differs from x-amz-date.")
    key = signing_key(credential.secret_key, auth.date, auth.region, auth.service)
    raw = req.raw_path
    # The client encodes the key its own way: take the path as sent, or S3's encoding of it.
    for path in dict.fromkeys([raw, _q(unquote(raw), "-_.~/")]):
        creq = canonical_request(req, path, auth.signed_headers, payload_hash)
        text = f"{ALGORITHM}\n{amz_date}\n{auth.scope}\n{_sha_hex(creq)}"
        if hmac.compare_digest(_hmac_hex(key, text), auth.signature):
            return Verified(
                credential,
                payload_hash,
                key,
                amz_date,
                auth.scope,
                auth.signature,
                dict(req.headers),
            )
    raise CosAuthError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    )


class _Checks:
    """The body's digests against what the headers (and trailers) claim."""

    def __init__(self, headers: dict[str, str], payload_hash: str) -> None:
        self.headers = headers
        self.payload_hash = payload_hash if _HEX64.match(payload_hash) else None
        self.digests: dict[str, Any] = {}
        self.crc32 = 0
        self.expected: dict[str, str] = {}
        for algo in UNSUPPORTED_CHECKSUMS:
            if f"x-amz-checksum-{algo}" in headers:
                raise StorageError(
                    400, "InvalidRequest", f"x-amz-checksum-{algo} is not supported by vodflow."
                )
        for algo in CHECKSUMS:
            value = headers.get(f"x-amz-checksum-{algo}")
            if value is not None:
                self.expected[algo] = value
        if "content-md5" in headers:
            self.expected["md5"] = headers["content-md5"]
        wanted = set(self.expected) | ({"sha256"} if self.payload_hash else set())
        # Trailers name their checksum up front (x-amz-trailer); computed for it too.
        trailer = headers.get("x-amz-trailer", "").lower().removeprefix("x-amz-checksum-")
        if trailer:
            if trailer not in CHECKSUMS:
                raise StorageError(
                    400,
                    "InvalidRequest",
                    f"The trailer x-amz-checksum-{trailer[:16]} is not supported.",
                )
            wanted.add(trailer)
        for algo in wanted - {"crc32"}:
            self.digests[algo] = hashlib.new(algo, usedforsecurity=False)
        self.want_crc32 = "crc32" in wanted

    def update(self, data: bytes) -> None:
        for digest in self.digests.values():
            digest.update(data)
        if self.want_crc32:
            self.crc32 = zlib.crc32(data, self.crc32)

    def value(self, algo: str) -> str:
        if algo == "crc32":
            return base64.b64encode(self.crc32.to_bytes(4, "big")).decode()
        return base64.b64encode(self.digests[algo].digest()).decode()

    def finish(self, trailers: dict[str, str] | None = None) -> None:
        if self.payload_hash and self.digests["sha256"].hexdigest() != self.payload_hash:
            raise StorageError(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        expected = dict(self.expected)
        for name, value in (trailers or {}).items():
            expected[name.removeprefix("x-amz-checksum-")] = value
        for algo, value in expected.items():
            if self.value(algo) != value.strip():
                label = "Content-MD5" if algo == "md5" else f"x-amz-checksum-{algo}"
                raise StorageError(
                    400, "BadDigest", f"The {label} you specified did not match what we received."
                )

    async def wrap(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            if chunk:
                self.update(chunk)
                yield chunk
        if not isinstance(chunks, _Dechunked):
            self.finish()


class _Dechunked(AsyncIterator[bytes]):
    """aws-chunked decoding: `size[;chunk-signature=sig]\\r\\n data \\r\\n` ... trailers."""

    def __init__(self, source: AsyncIterator[bytes], verified: Verified, checker: _Checks) -> None:
        self.source = source
        self.verified = verified
        self.checker = checker
        self.signed = verified.payload_hash in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
        self.trailing = verified.payload_hash.endswith("-TRAILER")
        self.previous = verified.seed_signature
        self.buf = bytearray()
        self.decoded = 0
        self.gen = self._run()

    def __aiter__(self) -> _Dechunked:
        return self

    async def __anext__(self) -> bytes:
        return await self.gen.__anext__()

    async def _fill(self, need: int) -> bool:
        async for chunk in self.source:
            self.buf += chunk
            if len(self.buf) >= need:
                return True
        return len(self.buf) >= need

    async def _line(self, limit: int) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            if len(self.buf) > limit:
                raise StorageError(400, "InvalidRequest", "An aws-chunked header is too long.")
            if not await self._fill(len(self.buf) + 1):
                raise StorageError(400, "IncompleteBody", "The aws-chunked body ended early.")

    def _chunk_signature(self, data_hash: str) -> str:
        v = self.verified
        text = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                v.amz_date,
                v.scope,
                self.previous,
                EMPTY_SHA256,
                data_hash,
            ]
        )
        return _hmac_hex(v.key, text)

    async def _run(self) -> AsyncIterator[bytes]:
        while True:
            header = (await self._line(MAX_CHUNK_HEADER)).decode("latin-1")
            size_text, _, ext = header.partition(";")
            try:
                size = int(size_text.strip(), 16)
            except ValueError:
                raise StorageError(400, "InvalidRequest", "A chunk size is not hex.") from None
            if size > MAX_CHUNK:
                raise StorageError(400, "InvalidRequest", "An aws-chunked chunk is too large.")
            given = ""
            if ext.startswith("chunk-signature="):
                given = ext.removeprefix("chunk-signature=").strip().lower()
            if self.signed and not given:
                raise StorageError(403, "SignatureDoesNotMatch", "A chunk is not signed.")
            if size and not await self._fill(size):
                raise StorageError(400, "IncompleteBody", "The aws-chunked body ended early.")
            data = bytes(self.buf[:size])
            del self.buf[:size]
            if self.signed:
                expected = self._chunk_signature(_sha_hex(data))
                if not hmac.compare_digest(expected, given):
                    raise StorageError(
                        403, "SignatureDoesNotMatch", "A chunk signature does not match."
                    )
                self.previous = expected
            if size == 0:
                break
            if not await self._fill(2) or self.buf[:2] != b"\r\n":
                raise StorageError(400, "InvalidRequest", "A chunk does not end with CRLF.")
            del self.buf[:2]
            self.decoded += size
            yield data
        declared = self.verified.headers.get("x-amz-decoded-content-length")
        if declared is not None and declared != str(self.decoded):
            raise StorageError(
                400,
                "IncompleteBody",
                "The body's length differs from x-amz-decoded-content-length.",
            )
        trailers = await self._trailers() if self.trailing else {}
        self.checker.finish(trailers)

    async def _trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        signature = ""
        lines: list[str] = []
        size = 0
        while True:
            try:
                line = (await self._line(MAX_TRAILER)).decode("latin-1")
            except StorageError:
                break  # the body may end without the final CRLF
            if not line:
                break
            size += len(line)
            if size > MAX_TRAILER:
                raise StorageError(400, "InvalidRequest", "The trailers are too long.")
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "x-amz-trailer-signature":
                signature = value.strip().lower()
                continue
            lines.append(f"{name}:{value.strip()}\n")
            if name.startswith("x-amz-checksum-"):
                if name.removeprefix("x-amz-checksum-") not in CHECKSUMS:
                    raise StorageError(
                        400, "InvalidRequest", f"The trailer {name} is not supported."
                    )
                trailers[name] = value.strip()
        if self.signed:
            v = self.verified
            text = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    v.amz_date,
                    v.scope,
                    self.previous,
                    _sha_hex("".join(lines)),
                ]
            )
            if not hmac.compare_digest(_hmac_hex(v.key, text), signature):
                raise StorageError(
                    403, "SignatureDoesNotMatch", "The trailer signature does not match."
                )
        declared = self.verified.headers.get("x-amz-trailer", "").lower()
        if declared and declared not in trailers:
            raise StorageError(400, "InvalidRequest", f"The trailer {declared[:40]} is missing.")
        return trailers


def _dechunk(
    chunks: AsyncIterator[bytes], verified: Verified, checker: _Checks
) -> AsyncIterator[bytes]:
    return _Dechunked(chunks, verified, checker)


def checked_body(headers: dict[str, str], chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A body signed another way (COS): its Content-MD5 and checksum headers still hold."""
    return _Checks(headers, "").wrap(chunks)
