"""Parameter templates and procedure templates (task-flow templates).

A template is known to the rest of vodflow only as Tencent describes it: the
item of Describe<Kind>Templates. Presets come from `core.presets`; custom ones
are rows of the application that created them, numbered from 1000001 over every
kind, and invisible to other applications. Task flows look templates up with
`find`, procedures with `get_procedure`, and check a MediaProcessTask before
starting it with `check_media_process_task`.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.exc import IntegrityError

from vodflow.core import kinds, presets, watermarks
from vodflow.core.kinds.transcode import with_override
from vodflow.errors import VodError
from vodflow.store import templates as q
from vodflow.store.db import Database
from vodflow.timeutil import iso, now

# Custom definitions start above this (Tencent's custom ids are 7-digit too).
FIRST_CUSTOM_DEFINITION = 1000000
# CreateProcedureTemplate: "模板上限：50". (The limit of each parameter-template
# kind is part of its descriptor in core/kinds/.)
MAX_PROCEDURES = 50

# Fields of the stored row, not of the template parameters.
_META = ("Definition", "Type", "Name", "Comment", "CreateTime", "UpdateTime")


class TemplateService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ----- lookups used by task flows -----

    async def find(self, app_id: int, kind: str, definition: int) -> dict[str, Any] | None:
        """The template as Describe<Kind>Templates shows it; presets first."""
        item = kinds.family(kind).preset(definition)
        if item is not None:
            return item
        async with self.db.read() as conn:
            row = await q.get(conn, app_id, kind, definition)
        return _item(kind, row) if row else None

    async def get_procedure(self, app_id: int, name: str) -> dict[str, Any] | None:
        """The MediaProcessTask of a procedure template, or None if unknown."""
        found = presets.preset_procedure(name)
        if found is not None:
            return dict(found["MediaProcessTask"])
        async with self.db.read() as conn:
            row = await q.get_procedure(conn, app_id, name)
        if row is None:
            return None
        return copy.deepcopy(row["media_process_task"] or {})

    async def check_media_process_task(self, app_id: int, mpt: dict[str, Any]) -> None:
        """Refuse a MediaProcessTask that asks for nothing or names unknown templates."""
        if not isinstance(mpt, dict):
            raise VodError("InvalidParameter", "MediaProcessTask must be an object.")
        total = 0
        wanted: list[tuple[str, str, int]] = []
        for k in kinds.KINDS:
            set_name, kind = k.task_set, k.family.name
            tasks = mpt.get(set_name) or []
            if not isinstance(tasks, list):
                raise VodError("InvalidParameter", f"MediaProcessTask.{set_name} must be a list.")
            total += len(tasks)
            for task in tasks:
                definition = task.get("Definition") if isinstance(task, dict) else None
                if isinstance(definition, bool) or not isinstance(definition, int):
                    raise VodError(
                        "InvalidParameter",
                        f"MediaProcessTask.{set_name}.N.Definition must be an integer.",
                    )
                wanted.append((set_name, kind, definition))
        kinds.check_task_count(total)
        for set_name, kind, definition in wanted:
            if await self.find(app_id, kind, definition) is None:
                raise VodError(
                    "InvalidParameterValue.Definition",
                    f"MediaProcessTask.{set_name}: the {kind} template `{definition}` "
                    "does not exist.",
                )
        await self._check_watermarks(app_id, mpt)
        for n, task in enumerate(mpt.get("TranscodeTaskSet") or []):
            for ht in task.get("HeadTailSet") or []:
                definition = ht.get("Definition") if isinstance(ht, dict) else None
                if not isinstance(definition, int) or not await self.find(
                    app_id, "HeadTail", definition
                ):
                    raise VodError(
                        "InvalidParameterValue.Definition",
                        f"MediaProcessTask.TranscodeTaskSet.{n}.HeadTailSet: the head/tail "
                        f"template `{definition}` does not exist.",
                    )
            override = task.get("OverrideParameter")
            if override:
                tpl = await self.find(app_id, "Transcode", task["Definition"])
                with_override(tpl or {}, override)  # its rules' error names the field

    async def _check_watermarks(self, app_id: int, mpt: dict[str, Any]) -> None:
        async def find(definition: int) -> dict[str, Any] | None:
            return await self.find(app_id, watermarks.FAMILY_NAME, definition)

        for set_name in watermarks.SETS:
            for task in mpt.get(set_name) or []:
                if task.get("WatermarkSet") is not None:
                    await watermarks.check_set(set_name, task["WatermarkSet"], find)

    # ----- parameter templates -----

    async def describe(
        self,
        app_id: int,
        kind: str,
        *,
        definitions: list[int] | None,
        type_: str | None,
        offset: int,
        limit: int,
        where: Any = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Presets then custom templates, filtered, one page and the total count."""
        items: list[dict[str, Any]] = []
        if type_ in (None, "Preset"):
            items += [
                p
                for p in presets.presets(kind)
                if definitions is None or _definition(p) in definitions
            ]
        if type_ in (None, "Custom"):
            async with self.db.read() as conn:
                rows = await q.listing(conn, app_id, kind, definitions)
            items += [_item(kind, r) for r in rows]
        if where is not None:
            items = [i for i in items if where(i)]
        return items[offset : offset + limit], len(items)

    async def create(
        self, app_id: int, kind: str, name: str, comment: str, params: dict[str, Any]
    ) -> int:
        checked = kinds.family(kind).rules(_params(params))
        # Two database writers (PostgreSQL) may pick the same next id: retry.
        for _attempt in range(5):
            try:
                return await self._insert(app_id, kind, name, comment, checked)
            except IntegrityError:
                continue
        raise VodError("InternalError.GenDefinition", "Could not allocate a template id.")

    async def _insert(
        self, app_id: int, kind: str, name: str, comment: str, checked: dict[str, Any]
    ) -> int:
        t = now()
        async with self.db.tx() as conn:
            limit = kinds.family(kind).max_templates
            if await q.count(conn, app_id, kind) >= limit:
                raise VodError(
                    "LimitExceeded.TooMuchTemplate",
                    f"An application may have at most {limit} custom {kind} templates.",
                )
            definition = await q.next_definition(conn, FIRST_CUSTOM_DEFINITION)
            await q.create(
                conn,
                app_id=app_id,
                kind=kind,
                definition=definition,
                name=name,
                comment=comment,
                params=checked,
                create_time=t,
                update_time=t,
            )
        return definition

    async def modify(
        self,
        app_id: int,
        kind: str,
        definition: int,
        *,
        name: str | None,
        comment: str | None,
        changes: dict[str, Any],
    ) -> None:
        """Merge the given fields into the template; the result obeys Create's rules."""
        if presets.is_preset(kind, definition):
            raise VodError(
                "InvalidParameterValue.ModifyDefaultTemplate",
                f"The {kind} template `{definition}` is a system preset and cannot be modified.",
            )
        async with self.db.tx() as conn:
            row = await self._own(conn, app_id, kind, definition)
            merged = _merge(row["params"], _params(changes))
            checked = kinds.family(kind).rules(merged)
            values: dict[str, Any] = {"params": checked, "update_time": now()}
            if name is not None:
                values["name"] = name
            if comment is not None:
                values["comment"] = comment
            await q.modify(conn, row["id"], **values)

    async def delete(self, app_id: int, kind: str, definition: int) -> None:
        if presets.is_preset(kind, definition):
            raise VodError(
                "InvalidParameterValue.DeleteDefaultTemplate",
                f"The {kind} template `{definition}` is a system preset and cannot be deleted.",
            )
        async with self.db.tx() as conn:
            row = await self._own(conn, app_id, kind, definition)
            await q.remove(conn, row["id"])

    async def _own(self, conn: Any, app_id: int, kind: str, definition: int) -> dict[str, Any]:
        row = await q.get(conn, app_id, kind, definition)
        if row is None:
            raise VodError(
                "ResourceNotFound.TemplateNotExist",
                f"The {kind} template `{definition}` does not exist.",
            )
        return row

    # ----- procedure templates -----

    async def create_procedure(
        self, app_id: int, name: str, comment: str, mpt: dict[str, Any]
    ) -> None:
        await self.check_media_process_task(app_id, mpt)
        t = now()
        existed = VodError(
            "InvalidParameter.ExistedProcedureName",
            f"A procedure template named `{name}` already exists.",
        )
        try:
            await self._insert_procedure(app_id, name, comment, mpt, t, existed)
        except IntegrityError:  # created concurrently by another writer
            raise existed from None

    async def _insert_procedure(
        self,
        app_id: int,
        name: str,
        comment: str,
        mpt: dict[str, Any],
        t: float,
        existed: VodError,
    ) -> None:
        async with self.db.tx() as conn:
            if presets.preset_procedure(name) or await q.get_procedure(conn, app_id, name):
                raise existed
            if await q.count_procedures(conn, app_id) >= MAX_PROCEDURES:
                raise VodError(
                    "LimitExceeded.TooMuchTemplate",
                    f"An application may have at most {MAX_PROCEDURES} procedure templates.",
                )
            await q.create_procedure(
                conn,
                app_id=app_id,
                name=name,
                comment=comment,
                media_process_task=mpt,
                create_time=t,
                update_time=t,
            )

    async def reset_procedure(
        self, app_id: int, name: str, comment: str | None, mpt: dict[str, Any] | None
    ) -> None:
        """Replace a custom procedure's tasks (and comment) wholesale."""
        if presets.preset_procedure(name):
            raise VodError(
                "InvalidParameterValue.ModifyDefaultTemplate",
                f"The procedure template `{name}` is a system preset and cannot be reset.",
            )
        if mpt is not None:
            await self.check_media_process_task(app_id, mpt)
        async with self.db.tx() as conn:
            if await q.get_procedure(conn, app_id, name) is None:
                raise _no_procedure(name)
            values: dict[str, Any] = {"update_time": now()}
            if mpt is not None:
                values["media_process_task"] = mpt
            if comment is not None:
                values["comment"] = comment
            await q.modify_procedure(conn, app_id, name, **values)

    async def delete_procedure(self, app_id: int, name: str) -> None:
        if presets.preset_procedure(name):
            raise VodError(
                "InvalidParameterValue.DeleteDefaultTemplate",
                f"The procedure template `{name}` is a system preset and cannot be deleted.",
            )
        async with self.db.tx() as conn:
            if not await q.remove_procedure(conn, app_id, name):
                raise _no_procedure(name)

    async def describe_procedures(
        self, app_id: int, *, names: list[str] | None, type_: str | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        items: list[dict[str, Any]] = []
        if type_ in (None, "Preset"):
            for pname in presets.PRESET_PROCEDURES:
                if names is None or pname in names:
                    found = presets.preset_procedure(pname) or {}
                    items.append(
                        {
                            "Name": pname,
                            "Type": "Preset",
                            "Comment": found["Comment"],
                            "MediaProcessTask": found["MediaProcessTask"],
                            "AiRecognitionTaskSet": [],
                            "CreateTime": presets.PRESET_TIME,
                            "UpdateTime": presets.PRESET_TIME,
                        }
                    )
        if type_ in (None, "Custom"):
            async with self.db.read() as conn:
                rows = await q.list_procedures(conn, app_id, names)
            items += [
                {
                    "Name": r["name"],
                    "Type": "Custom",
                    "Comment": r["comment"],
                    "MediaProcessTask": r["media_process_task"],
                    "AiRecognitionTaskSet": [],
                    "CreateTime": iso(r["create_time"]),
                    "UpdateTime": iso(r["update_time"]),
                }
                for r in rows
            ]
        return items[offset : offset + limit], len(items)


def _no_procedure(name: str) -> VodError:
    return VodError(
        "InvalidParameter.ProcedureNameNotExist",
        f"The procedure template `{name}` does not exist.",
    )


def _definition(item: dict[str, Any]) -> int:
    # TranscodeTemplate.Definition is a string in Tencent's answers.
    return int(item["Definition"])


def _item(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A stored custom template as Describe<Kind>Templates shows it."""
    found = kinds.family(kind)
    item = {
        "Definition": str(row["definition"]) if found.string_definition else row["definition"],
        "Type": "Custom",
        "Name": row["name"],
        "Comment": row["comment"],
        "CreateTime": iso(row["create_time"]),
        "UpdateTime": iso(row["update_time"]),
    }
    if not found.typed:
        del item["Type"]
    item.update(copy.deepcopy(row["params"]))
    return item


def _params(values: dict[str, Any]) -> dict[str, Any]:
    """Only the template parameters: no None, no identity or bookkeeping fields."""
    return {k: v for k, v in values.items() if v is not None and k not in _META}


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Modify semantics: nested structures (VideoTemplate...) change field by field."""
    out = copy.deepcopy(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
