"""Errors of the data layer. Messages are safe to show: they never carry patient data."""

from __future__ import annotations

from collections.abc import Iterable


class AccessDenied(PermissionError):
    """The acting user may not do this. Raised for absent records too, so that a denial never
    reveals whether a patient exists."""

    def __init__(self, message: str = "you do not have access to this record") -> None:
        super().__init__(message)


class InvalidInput(ValueError):
    """Input refused with one readable reason per problem; nothing was written."""

    def __init__(self, problems: Iterable[str], *, flags: Iterable[str] = ()) -> None:
        self.problems = tuple(problems)
        # Safety flags raised by the refused answers, so a page can still show crisis help.
        self.flags = tuple(flags)
        super().__init__("; ".join(self.problems))


class SignInFailed(Exception):
    """Sign-in refused. One message for every cause (unknown username, wrong password,
    disabled or locked account, a throttled address), so a refusal reveals neither which
    usernames exist nor whether a guess during a lockout was right."""

    def __init__(self, message: str = "the username or password is not correct") -> None:
        super().__init__(message)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the app says so instead of showing a traceback."""
