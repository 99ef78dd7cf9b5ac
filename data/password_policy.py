"""What a new password and a new username must be, after NIST SP 800-63B.

Passwords (NIST SP 800-63B, 5.1.1.2 "Memorized Secret Verifiers"): a minimum length, no
composition rules, and a check against passwords known to be weak:

* at least 12 characters for staff (clinicians, administrators: they see every patient of a
  clinic), at least 8 for patients (their own records only); at most 256;
* not the username, and not containing it (case ignored, for usernames of 3 characters or
  more: a 1- or 2-letter name would refuse half of all passwords);
* not one character repeated ("        "), not a short run repeated ("abcabcabcabc",
  "monkeymonkey"), not a straight sequence ("abcdefghijkl", "987654321098");
* not one of the 19,640 common passwords Django ships (``common-passwords.txt.gz``, copied
  unchanged; licence and attribution in ``common-passwords.NOTICE``), compared as Django does
  (lower case, surrounding spaces ignored). The list is read once, the first time it is needed.

Usernames: 1 to 150 characters, no control characters, and none of the names the audit trail
uses for someone who is not an account (see :data:`RESERVED_USERNAMES`).

References
----------
P. A. Grassi et al., "Digital Identity Guidelines: Authentication and Lifecycle Management",
NIST Special Publication 800-63B (2017, updated 2020), section 5.1.1.2,
doi:10.6028/NIST.SP.800-63b.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import unicodedata
from importlib import resources

STAFF_MIN_PASSWORD_LENGTH = 12
PATIENT_MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_USERNAME_LENGTH = 150
# Containing the username is checked from this length on (see the module docstring).
_USERNAME_IN_PASSWORD_FROM = 3

# Names the audit trail gives to someone who is not an account: the command line
# (data.access.Actor.system), the demo seeder (data.demo.DEMO_ACTOR_NAME), a refused sign-in
# for a name that does not exist, and single sign-on without an email. An account of that
# name would make its actions indistinguishable from theirs. Compared case-insensitively.
RESERVED_USERNAMES = frozenset(
    {
        "command line",
        "system",
        "seed-demo",
        "benchmark",
        "(unknown username)",
        "(no email)",
    }
)

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


def minimum_length(role: str) -> int:
    """The fewest characters a password of an account with ``role`` may have."""
    return PATIENT_MIN_PASSWORD_LENGTH if role == "patient" else STAFF_MIN_PASSWORD_LENGTH


@functools.cache
def _common_passwords() -> frozenset[str]:
    """Django's list of common passwords, read from the package once."""
    packed = resources.files("data").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(gzip.decompress(packed).decode("utf-8").split())


def _repeats_a_short_run(password: str) -> bool:
    """Whether ``password`` is one piece written out twice or more ("abab", "monkeymonkey")."""
    # A string is a repetition exactly when it occurs inside itself doubled, minus the ends.
    return len(password) > 1 and password in (password + password)[1:-1]


def _is_a_sequence(password: str) -> bool:
    """Whether every character follows the one before by +1, or every one by -1."""
    if len(password) < 3:
        return False
    steps = set()
    for before, after in itertools.pairwise(password):
        step = ord(after) - ord(before)
        # Digits wrap round ("7890123..."): 9 to 0 counts as +1, 0 to 9 as -1.
        if before.isdigit() and after.isdigit() and abs(step) == 9:
            step = -step // 9
        steps.add(step)
    return steps in ({1}, {-1})


def password_problems(password: str, *, role: str, username: str = "") -> list[str]:
    """Why ``password`` may not be the password of an account; empty when it may.

    Parameters
    ----------
    password
        The proposed password (never repeated in a message).
    role
        The account's role: ``"patient"`` needs 8 characters, any other role 12.
    username
        The account's username, when known (the command line asks for the password first).

    Returns
    -------
    list of str
        One readable reason per problem, each saying what to do.
    """
    if not isinstance(password, str) or not password:
        return ["a password is needed"]
    shortest = minimum_length(role)
    if len(password) < shortest:
        return [f"a password needs at least {shortest} characters; a few words make a good one"]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"a password may have at most {MAX_PASSWORD_LENGTH} characters"]
    problems = []
    folded = password.strip().casefold()
    name = (username or "").strip().casefold()
    if name and (folded == name or (len(name) >= _USERNAME_IN_PASSWORD_FROM and name in folded)):
        problems.append("a password may not be or contain the username; choose another")
    if _repeats_a_short_run(password) or _is_a_sequence(folded):
        problems.append(
            "a password may not be one character or a short run repeated, or a sequence "
            "such as abcdef or 123456; choose another"
        )
    if password.lower().strip() in _common_passwords():
        problems.append(
            "this password is on a list of commonly used passwords that attackers try first; "
            "choose another"
        )
    return problems


def username_problems(username: str) -> list[str]:
    """Why ``username`` (already stripped of surrounding spaces) may not be a username."""
    if not username or len(username) > MAX_USERNAME_LENGTH:
        return [f"a username of 1 to {MAX_USERNAME_LENGTH} characters is needed"]
    if any(unicodedata.category(c).startswith("C") for c in username):
        return ["a username may not contain control characters such as line breaks or tabs"]
    return []


def is_reserved(username: str) -> bool:
    """Whether ``username`` is a name the audit trail uses for someone who is not an account."""
    return " ".join(username.split()).casefold() in RESERVED_USERNAMES
