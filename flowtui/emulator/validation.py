"""Request validation errors in FastAPI's shape (Diga is a FastAPI app)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class ValidationFailed(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def error(kind: str, loc: list[str | int], msg: str, value: Any, **ctx: Any) -> dict[str, Any]:
    """One entry of `{"detail": [...]}` as pydantic v2 writes it."""
    entry: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx:
        entry["ctx"] = ctx
    return entry


def response(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


def choices(values: tuple[str, ...]) -> str:
    """pydantic's wording of allowed values: `'a', 'b' or 'c'`."""
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def enum_value(
    value: str, allowed: tuple[str, ...], loc: list[str | int], errors: list[dict[str, Any]]
) -> None:
    if value not in allowed:
        expected = choices(allowed)
        errors.append(error("enum", loc, f"Input should be {expected}", value, expected=expected))


def int_value(
    raw: str | None,
    loc: list[str | int],
    errors: list[dict[str, Any]],
    *,
    ge: int | None = None,
    le: int | None = None,
) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.append(
            error(
                "int_parsing",
                loc,
                "Input should be a valid integer, unable to parse string as an integer",
                raw,
            )
        )
        return None
    if ge is not None and value < ge:
        errors.append(
            error(
                "greater_than_equal",
                loc,
                f"Input should be greater than or equal to {ge}",
                raw,
                ge=ge,
            )
        )
    elif le is not None and value > le:
        errors.append(
            error("less_than_equal", loc, f"Input should be less than or equal to {le}", raw, le=le)
        )
    return value


async def json_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object, or ValidationFailed in FastAPI's words."""
    raw = await request.body()
    if not raw:
        raise ValidationFailed([error("missing", ["body"], "Field required", None)])
    try:
        body = json.loads(raw)
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        raise ValidationFailed(
            [error("json_invalid", ["body", position], "JSON decode error", {}, error=str(exc))]
        ) from None
    if not isinstance(body, dict):
        raise ValidationFailed(
            [
                error(
                    "model_attributes_type",
                    ["body"],
                    "Input should be a valid dictionary or object to extract fields from",
                    body,
                )
            ]
        )
    return body
