"""Client upload signatures (Tencent's format) and SigV4 streaming, against known vectors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from vodflow.api import sigv4
from vodflow.api.cos_auth import CosRequest
from vodflow.core.credentials import Credential
from vodflow.core.upload_objects import StorageError
from vodflow.upload_signature import UploadSignatureError, decode, sign


def test_sign_is_tencents_algorithm() -> None:
    """Base64(HMAC-SHA1(SecretKey, original) + original), original a query string."""
    sig = sign(
        "AKIDexample",
        "secret",
        now=1_700_000_000,
        expire_in=86400,
        random=123,
        procedure="QCVB_SimpleProcessFile",
        source_context="a b&c",
        one_time_valid=True,
    )
    raw = base64.b64decode(sig)
    original = raw[20:]
    assert original == (
        b"secretId=AKIDexample&currentTimeStamp=1700000000&expireTime=1700086400&random=123"
        b"&procedure=QCVB_SimpleProcessFile&sourceContext=a+b%26c&oneTimeValid=1"
    )
    assert raw[:20] == hmac.new(b"secret", original, hashlib.sha1).digest()
    digest, text, params = decode(sig)
    assert (digest, text) == (raw[:20], original)
    assert params["sourceContext"] == "a b&c"
    assert dict(parse_qsl(original.decode())) == params


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("not base64!", "not Base64"),
        (base64.b64encode(b"short").decode(), "too short"),
        (
            base64.b64encode(b"x" * 20 + b"secretId=a&currentTimeStamp=1").decode(),
            "lacks expireTime",
        ),
        (
            sign("a", "k", extra={"isPersistence": "1"}),
            "does not support the signature parameter isPersistence",
        ),
        (
            base64.b64encode(b"x" * 20 + b"secretId=a&secretId=b&expireTime=1&random=1").decode(),
            "secretId appears twice",
        ),
    ],
)
def test_decode_refuses_by_name(signature: str, reason: str) -> None:
    with pytest.raises(UploadSignatureError) as info:
        decode(signature)
    assert reason in info.value.message


# AWS's documented example of a chunked upload signed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD
# (Signature Version 4, "Signature calculations for the Authorization header: transferring
# payload in multiple chunks"): 64 KiB + 1 KiB of 'a', its seed and chunk signatures.
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
CHUNK_2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
FINAL = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"


def _aws_example() -> tuple[CosRequest, bytes]:
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "authorization": (
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request,SignedHeaders=content-encoding;content-length;host;"
            "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
            f"Signature={SEED}"
        ),
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
    }
    body = (
        f"10000;chunk-signature={CHUNK_1}\r\n".encode()
        + b"a" * 65536
        + f"\r\n400;chunk-signature={CHUNK_2}\r\n".encode()
        + b"a" * 1024
        + f"\r\n0;chunk-signature={FINAL}\r\n\r\n".encode()
    )
    return CosRequest("PUT", "/examplebucket/chunkObject.txt", "", headers), body


async def _decoded(req: CosRequest, body: bytes) -> bytes:
    cred = Credential("AKIAIOSFODNN7EXAMPLE", SECRET)

    async def lookup(_: str) -> Credential:
        return cred

    now = datetime(2013, 5, 24, tzinfo=UTC).timestamp()
    verified = await sigv4.verify(req, lookup, now)

    async def source() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1000):  # split across chunk boundaries
            yield body[i : i + 1000]

    return b"".join([c async for c in verified.body(source())])


def test_streaming_signed_chunks_match_awss_example() -> None:
    req, body = _aws_example()
    assert len(body) == 66824
    assert asyncio.run(_decoded(req, body)) == b"a" * 66560


def test_a_tampered_chunk_is_refused() -> None:
    req, body = _aws_example()
    tampered = body.replace(b"a" * 1024, b"a" * 1023 + b"b")
    with pytest.raises(StorageError) as info:
        asyncio.run(_decoded(req, tampered))
    assert (info.value.status, info.value.code) == (403, "SignatureDoesNotMatch")


def _unsigned_chunks(body: bytes, headers: dict[str, str]) -> bytes:
    verified = sigv4.Verified(
        credential=Credential("AKIDx", "k"),
        payload_hash=sigv4.STREAMING_UNSIGNED_TRAILER,
        key=b"",
        amz_date="20260101T000000Z",
        scope="20260101/ap-local/s3/aws4_request",
        seed_signature="",
        headers=headers,
    )

    async def run() -> bytes:
        async def source() -> AsyncIterator[bytes]:
            yield body

        return b"".join([c async for c in verified.body(source())])

    return asyncio.run(run())


def test_unsigned_trailer_checksum_and_length() -> None:
    crc = base64.b64encode((0x352441C2).to_bytes(4, "big")).decode()  # CRC32 of b"abc"
    body = f"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    headers = {"x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": "3"}
    assert _unsigned_chunks(body, headers) == b"abc"
    with pytest.raises(StorageError) as info:
        _unsigned_chunks(body, {**headers, "x-amz-decoded-content-length": "4"})
    assert info.value.code == "IncompleteBody"
    with pytest.raises(StorageError) as info:
        _unsigned_chunks(body.replace(crc.encode(), b"AAAAAA=="), headers)
    assert info.value.code == "BadDigest"
    with pytest.raises(StorageError) as info:
        _unsigned_chunks(b"3\r\nabc\r\n0\r\n\r\n", headers)  # the declared trailer is missing
    assert info.value.code == "InvalidRequest"
    with pytest.raises(StorageError) as info:
        _unsigned_chunks(b"10\r\nabc", {})
    assert info.value.code == "IncompleteBody"


def test_one_storage_region() -> None:
    from vodflow import upload_signature
    from vodflow.wire import common

    assert upload_signature.STORAGE_REGION == common.STORAGE_REGION
