"""Watermark templates: the generic template store plus the image each image template holds.

CreateWatermarkTemplate's ``ImageContent`` (Base64) is decoded and checked here
(a PNG, JPEG or GIF that really decodes, at most 2 MB and 4096x4096), written to
the blob store under ``<app>/watermark/<token>/image.<ext>`` (served at
``ImageUrl`` by `api/files.py` while its application is enabled), and the stored
template keeps the key. Everything else is `TemplateService`'s, with the rules of
`core/watermarks.py`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import secrets
from typing import Any, Final

from vodflow.blobstore import BlobStore
from vodflow.core.blobkeys import url_for
from vodflow.core.templates import TemplateService
from vodflow.core.watermarks import FAMILY_NAME, TYPE
from vodflow.errors import VodError
from vodflow.media.ops.watermark import check_image

MAX_IMAGE_BYTES: Final = 2 * 1024 * 1024
WATERMARK_DIR: Final = "watermark"


def image_key_owner(key_parts: list[str]) -> int | None:
    """The application of a watermark image key (``<app>/watermark/<token>/<file>``), or None."""
    if len(key_parts) == 4 and key_parts[1] == WATERMARK_DIR and key_parts[0].isdigit():
        return int(key_parts[0])
    return None


class WatermarkTemplateService:
    def __init__(self, templates: TemplateService, blobs: BlobStore, public_url: str) -> None:
        self.templates = templates
        self.blobs = blobs
        self.public_url = public_url

    async def create(
        self, app_id: int, name: str, comment: str, params: dict[str, Any]
    ) -> tuple[int, str]:
        """The new Definition and, for an image template, its ImageUrl ("" otherwise)."""
        params = await self._store_image(app_id, params)
        params[TYPE] = params.pop("Type", None)
        key = (params.get("ImageTemplate") or {}).get("ImageKey")
        try:
            definition = await self.templates.create(app_id, FAMILY_NAME, name, comment, params)
        except BaseException:
            self._drop(key)  # refused by the rules: no image left behind
            raise
        return definition, self._url(key)

    async def modify(
        self,
        app_id: int,
        definition: int,
        *,
        name: str | None,
        comment: str | None,
        changes: dict[str, Any],
    ) -> None:
        changes = await self._store_image(app_id, changes)
        key = (changes.get("ImageTemplate") or {}).get("ImageKey")
        old = await self.templates.find(app_id, FAMILY_NAME, definition)
        try:
            await self.templates.modify(
                app_id, FAMILY_NAME, definition, name=name, comment=comment, changes=changes
            )
        except BaseException:
            self._drop(key)
            raise
        if key:
            self._drop(((old or {}).get("ImageTemplate") or {}).get("ImageKey"))

    async def delete(self, app_id: int, definition: int) -> None:
        found = await self.templates.find(app_id, FAMILY_NAME, definition)
        await self.templates.delete(app_id, FAMILY_NAME, definition)
        # Subtasks already running hold the file open (ffmpeg opened it); new
        # ones find the template gone and fail cleanly.
        self._drop(((found or {}).get("ImageTemplate") or {}).get("ImageKey"))

    def _drop(self, key: Any) -> None:
        if isinstance(key, str) and image_key_owner(key.split("/")) is not None:
            self.blobs.delete_prefix(key.rsplit("/", 1)[0])

    async def describe(
        self,
        app_id: int,
        *,
        definitions: list[int] | None,
        type_: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        items, total = await self.templates.describe(
            app_id,
            FAMILY_NAME,
            definitions=definitions,
            type_=None,
            offset=offset,
            limit=limit,
            where=(lambda item: item.get(TYPE) == type_) if type_ else None,
        )
        return [self._shown(item) for item in items], total

    def _shown(self, item: dict[str, Any]) -> dict[str, Any]:
        """A stored template as Tencent shows it: ImageUrl instead of the blob key."""
        out = copy.deepcopy(item)
        out["Type"] = out.pop(TYPE)
        image = out.get("ImageTemplate")
        if isinstance(image, dict):
            image["ImageUrl"] = self._url(image.pop("ImageKey", None))
            out["ImageTemplate"] = {"ImageUrl": image.pop("ImageUrl"), **image}
        return out

    def _url(self, key: Any) -> str:
        return url_for(self.public_url, key) if isinstance(key, str) and key else ""

    async def _store_image(self, app_id: int, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with ImageTemplate.ImageContent replaced by the key of its stored image."""
        image = params.get("ImageTemplate")
        if not isinstance(image, dict) or image.get("ImageContent") is None:
            if isinstance(image, dict) and "ImageKey" in image:
                raise VodError("UnknownParameter", "ImageTemplate.ImageKey is not a parameter.")
            return params
        data = _decode(image["ImageContent"])
        try:
            ext, _width, _height = await asyncio.to_thread(check_image, data)
        except ValueError as exc:
            raise VodError(
                "InvalidParameterValue.ImageContent",
                f"The value of `ImageTemplate.ImageContent` is invalid: {exc}.",
            ) from None
        key = f"{app_id}/{WATERMARK_DIR}/{secrets.token_hex(16)}/image.{ext}"
        tmp = self.blobs.temp_path(f".{ext}")
        await asyncio.to_thread(tmp.write_bytes, data)
        self.blobs.commit(tmp, key)
        rest = {k: v for k, v in image.items() if k != "ImageContent"}
        return {**params, "ImageTemplate": {**rest, "ImageKey": key}}


def _decode(content: Any) -> bytes:
    if not isinstance(content, str) or not content:
        raise VodError(
            "InvalidParameterValue.ImageContent",
            "The value of `ImageTemplate.ImageContent` is invalid: it must be Base64 text.",
        )
    if len(content) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise VodError(
            "InvalidParameterValue.ImageContent",
            f"The watermark image is larger than {MAX_IMAGE_BYTES // 1024 // 1024} MB.",
        )
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise VodError(
            "InvalidParameterValue.ImageDecodeError",
            "`ImageTemplate.ImageContent` is not valid Base64.",
        ) from None
