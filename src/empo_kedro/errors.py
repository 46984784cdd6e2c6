"""Errors a user can fix (bad input, bad parameters, missing upstream outputs), shown without a traceback."""

from __future__ import annotations


class UserFacingError(Exception):
    """Mixin for errors whose message alone says what is wrong and where (file, line, field or parameter)."""


def find_user_facing(error: BaseException | None) -> UserFacingError | None:
    """The first user-facing error in an exception's cause/context chain (Kedro wraps dataset errors)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UserFacingError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
