"""The rules every input meets where it enters: text without NUL (databases and logs cut at it) or
lone surrogates (no UTF-8 encoder can write them), and strict JSON: finite doubles only, no lone
surrogate escape, at most MAX_DEPTH levels. A refusal is an `InputProblem` naming what to fix."""

import json
import math
import re
from typing import Any

from pydantic import AfterValidator

# Nesting of objects and arrays. MariaDB's JSON check takes at most 31 levels, and an answer kept
# for Idempotency-Key replays wraps the metadata in one more.
MAX_DEPTH = 20

_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON strings, so that the brackets counted for the depth are only those outside them.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class InputProblem(ValueError):
    """Why an input is refused, said to the client as it is."""


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value):
        return "must be valid Unicode (a lone surrogate is not)"
    return None


def check_text(value: str | None) -> str | None:
    if value is not None and (problem := text_problem(value)):
        raise InputProblem(problem)
    return value


# The last annotation of a text field of a form or a request model (after its length and pattern,
# so that those keep their own error types): `Annotated[str, Form(max_length=9), STRICT_TEXT]`.
STRICT_TEXT = AfterValidator(check_text)


def _no_constant(name: str) -> Any:
    raise InputProblem(f"holds {name}, which is not a JSON number: send finite numbers only")


def _finite(text: str) -> str:
    if not math.isfinite(float(text)):
        raise InputProblem(f"holds the number {text[:20]}, out of a double's range (about ±1.8e308)")
    return text


def _depth(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Strict JSON, or an InputProblem; a text that is not JSON at all raises json.JSONDecodeError."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputProblem("is not valid UTF-8") from None
    if _depth(raw) > max_depth:
        raise InputProblem(f"is nested deeper than {max_depth} levels")
    try:
        value = json.loads(
            raw,
            parse_constant=_no_constant,
            parse_float=lambda text: float(_finite(text)),
            parse_int=lambda text: int(_finite(text)),
        )
    except RecursionError:
        raise InputProblem(f"is nested deeper than {max_depth} levels") from None
    # json.loads joins an escaped surrogate pair into one character and keeps a lone one as it is.
    if _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
        raise InputProblem("holds a lone surrogate escape (such as \\ud800), which is not text")
    return value
