"""Read an API request's parameters from a JSON body or a GET query string.

The SDK flattens GET parameters (`FileIds.0=a`, `Filters.0.Name=x`); they are
rebuilt here into the same nested shape a JSON body has.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from vodflow.errors import VodError

MAX_INDEX = 1000
MAX_DEPTH = 8
# No Tencent structure nests deeper than a handful of levels; deeper JSON is noise.
MAX_JSON_DEPTH = 32
MAX_QUERY_FIELDS = 2000


def _is_index(part: str) -> bool:
    # ASCII digits only: "¹".isdigit() is true, yet int("¹") fails.
    return part.isascii() and part.isdigit()


def _bad(message: str) -> VodError:
    return VodError("InvalidParameter", message)


# `json.loads` with its defaults, without its checks for other encodings and whitespace.
_raw_decode = json.JSONDecoder().raw_decode


def from_json(body: bytes) -> dict[str, Any]:
    if body[:1] == b"{" and body[-1:] == b"}" and body[1:2] != b"\0":
        # What the SDKs send: one UTF-8 object, nothing around it. Anything else, or
        # any error, takes the general path below (which answers it as always).
        try:
            text = body.decode("utf-8", "surrogatepass")
            data, end = _raw_decode(text)
        except (ValueError, RecursionError):
            pass
        else:
            if end == len(text) and not _too_deep(data):
                return data  # type: ignore[no-any-return]
    return _from_json_general(body)


def _from_json_general(body: bytes) -> dict[str, Any]:
    """Any body, as `json.loads` reads it (other encodings, whitespace, errors)."""
    if not body.strip():
        return {}
    too_deep = False
    try:
        data = json.loads(body)
    except RecursionError:
        data, too_deep = None, True  # too deep for the parser itself
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("The request body is not valid JSON.") from exc
    if too_deep or _too_deep(data):
        raise _bad(f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object of parameters.")
    return data


def _too_deep(data: Any) -> bool:
    """Whether containers nest deeper than MAX_JSON_DEPTH (iterative: no recursion)."""
    if isinstance(data, dict) and not any(isinstance(v, (dict, list)) for v in data.values()):
        return False  # flat parameters (most requests): nothing nests
    level: list[Any] = [data]
    for _ in range(MAX_JSON_DEPTH):
        nxt: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                nxt.extend(node.values())
            elif isinstance(node, list):
                nxt.extend(node)
        level = [n for n in nxt if isinstance(n, (dict, list))]
        if not level:
            return False
    return True


def from_query(query: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError as exc:
        raise _bad(f"The query carries more than {MAX_QUERY_FIELDS} parameters.") from exc
    for key, value in pairs:
        parts = key.split(".")
        if len(parts) > MAX_DEPTH or not all(parts):
            raise _bad(f"The parameter name `{key[:100]}` is malformed.")
        _put(root, parts, value, key)
    flat: dict[str, Any] = _lists(root)  # the root's keys are names, never all indexes
    return flat


def _put(node: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    for part in parts[:-1]:
        if _is_index(part) and int(part) > MAX_INDEX:
            raise _bad(f"The index in `{key[:100]}` is too large.")
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise _bad(f"The parameter `{key[:100]}` conflicts with another one.")
        node = child
    if _is_index(parts[-1]) and int(parts[-1]) > MAX_INDEX:
        raise _bad(f"The index in `{key[:100]}` is too large.")
    if isinstance(node.get(parts[-1]), dict):
        raise _bad(f"The parameter `{key[:100]}` conflicts with another one.")
    node[parts[-1]] = value


def _lists(node: Any) -> Any:
    """Turn dicts whose keys are all indexes into lists, in index order."""
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(_is_index(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
