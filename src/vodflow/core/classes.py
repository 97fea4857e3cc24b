"""Media categories: CreateClass, DescribeAllClass, ModifyClass, DeleteClass.

Each application has its own tree of up to four levels (Level 0 to 3) with at
most 500 children per class, as Tencent documents. Class 0 is Tencent's default
category ("其他"): every media without a class is in it, and it has no row.
A class can be deleted only when it has neither children nor media.

The helpers taking a connection are how other services (the library, uploads,
PullUpload) check a ClassId and name a media's class inside their own
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.errors import VodError
from vodflow.store import classes as q
from vodflow.store.db import Database, Reader
from vodflow.timeutil import now
from vodflow.wire.media_views import DEFAULT_CLASS_NAME

DEFAULT_CLASS_ID = 0
TOP_PARENT_ID = -1
MAX_LEVEL = 3
MAX_CHILDREN = 500
# MediaBasicInfo.ClassPath joins the names from the top class down with this.
PATH_SEPARATOR = "-"


class ClassService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, app_id: int, parent_id: int, name: str) -> int:
        name = _clean_name(name)
        async with self.db.tx() as conn:
            level = 0
            if parent_id != TOP_PARENT_ID:
                parent = await q.get(conn, app_id, parent_id, lock="update")
                if parent is None:
                    raise VodError(
                        "FailedOperation.ParentIdNoFound",
                        f"The parent class `{parent_id}` does not exist.",
                    )
                level = int(parent["level"]) + 1
                if level > MAX_LEVEL:
                    raise VodError(
                        "FailedOperation.ClassLevelLimitExceeded",
                        f"Classes nest at most {MAX_LEVEL + 1} levels deep.",
                    )
            siblings = await q.children(conn, app_id, parent_id)
            if len(siblings) >= MAX_CHILDREN:
                raise VodError(
                    "FailedOperation.SubclassLimitExceeded",
                    f"A class holds at most {MAX_CHILDREN} subclasses.",
                )
            if any(s["name"] == name for s in siblings):
                raise _duplicate(name)
            return await q.add(
                conn,
                app_id=app_id,
                parent_id=parent_id,
                name=name,
                level=level,
                create_time=now(),
            )

    async def listing(self, app_id: int) -> list[dict[str, Any]]:
        """Every class of the application as Tencent's MediaClassInfo, oldest first."""
        async with self.db.read() as conn:
            rows = await q.all_of(conn, app_id)
        kids: dict[int, list[int]] = {}
        for r in rows:
            kids.setdefault(int(r["parent_id"]), []).append(int(r["id"]))
        return [
            {
                "ClassId": r["id"],
                "ParentId": r["parent_id"],
                "Name": r["name"],
                "Level": r["level"],
                "SubClassIdSet": kids.get(int(r["id"]), []),
                "ClassName": r["name"],
            }
            for r in rows
        ]

    async def rename(self, app_id: int, class_id: int, name: str) -> None:
        name = _clean_name(name)
        async with self.db.tx() as conn:
            row = await q.get(conn, app_id, class_id, lock="update")
            if row is None:
                raise not_found(class_id)
            siblings = await q.children(conn, app_id, int(row["parent_id"]))
            if any(s["name"] == name and s["id"] != class_id for s in siblings):
                raise _duplicate(name)
            await q.rename(conn, app_id, class_id, name)

    async def delete(self, app_id: int, class_id: int) -> None:
        async with self.db.tx() as conn:
            row = await q.get(conn, app_id, class_id, lock="update")
            if row is None:
                raise not_found(class_id)
            if await q.children(conn, app_id, class_id):
                raise VodError(
                    "UnsupportedOperation.ClassNotEmpty",
                    f"The class `{class_id}` has subclasses; delete them first.",
                )
            if await q.media_count(conn, app_id, class_id):
                raise VodError(
                    "UnsupportedOperation.ClassNotEmpty",
                    f"The class `{class_id}` holds media; move or delete them first.",
                )
            await q.remove(conn, app_id, class_id)


async def check_class(
    conn: AsyncConnection, app_id: int, class_id: int, code: str = "InvalidParameterValue.ClassId"
) -> None:
    """Refuse a ClassId the application does not have (0, the default, always exists).

    The class row is share-locked to the end of the caller's transaction, so a
    concurrent DeleteClass cannot leave a media in a deleted class.
    """
    if class_id == DEFAULT_CLASS_ID:
        return
    if await q.get(conn, app_id, class_id, lock="share") is None:
        raise VodError(code, f"The class `{class_id}` does not exist.")


async def check_classes(conn: AsyncConnection, app_id: int, class_ids: Iterable[int]) -> None:
    for class_id in class_ids:
        await check_class(conn, app_id, class_id, "InvalidParameterValue.ClassIds")


async def with_descendants(
    conn: AsyncConnection, app_id: int, class_ids: Iterable[int]
) -> list[int]:
    """The classes named and every class under them (SearchMedia's ClassIds)."""
    wanted = set(class_ids)
    if not wanted - {DEFAULT_CLASS_ID}:
        return sorted(wanted)
    kids: dict[int, list[int]] = {}
    for r in await q.all_of(conn, app_id):
        kids.setdefault(int(r["parent_id"]), []).append(int(r["id"]))
    todo = [c for c in wanted if c != DEFAULT_CLASS_ID]
    while todo:
        for child in kids.get(todo.pop(), []):
            if child not in wanted:
                wanted.add(child)
                todo.append(child)
    return sorted(wanted)


async def name_classes(conn: Reader, app_id: int, rows: Iterable[MutableMapping[str, Any]]) -> None:
    """Set `class_name` and `class_path` on media rows (MediaBasicInfo shows them)."""
    rows = list(rows)
    if all(not r.get("class_id") for r in rows):
        for r in rows:
            r["class_name"] = r["class_path"] = DEFAULT_CLASS_NAME
        return
    by_id = {int(c["id"]): c for c in await q.all_of(conn, app_id)}
    for r in rows:
        r["class_name"], r["class_path"] = _name_and_path(by_id, int(r.get("class_id") or 0))


def _name_and_path(by_id: dict[int, dict[str, Any]], class_id: int) -> tuple[str, str]:
    names: list[str] = []
    current = by_id.get(class_id)
    while current is not None and len(names) <= MAX_LEVEL:
        names.append(str(current["name"]))
        current = by_id.get(int(current["parent_id"]))
    if not names:  # the default class (or one deleted under a running task)
        return DEFAULT_CLASS_NAME, DEFAULT_CLASS_NAME
    return names[0], PATH_SEPARATOR.join(reversed(names))


def not_found(class_id: int) -> VodError:
    return VodError("FailedOperation.ClassNoFound", f"The class `{class_id}` does not exist.")


def _duplicate(name: str) -> VodError:
    return VodError(
        "FailedOperation.ClassNameDuplicate",
        f"A class named `{name[:64]}` already exists under the same parent.",
    )


def _clean_name(name: str) -> str:
    if not name.strip():
        raise VodError("InvalidParameterValue.ClassName", "ClassName must not be blank.")
    return name
