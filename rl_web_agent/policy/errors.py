"""One-line errors: bad input gets one line that names the problem and the fix, never a traceback."""

from __future__ import annotations


def first_line(e: BaseException, limit: int = 160) -> str:
    """The first line of E's message, at most LIMIT characters; its type's name when it says nothing.
    (A library's error can span pages: only its first line goes into ours.)"""
    lines = str(e).strip().splitlines()
    return lines[0][:limit] if lines else type(e).__name__
