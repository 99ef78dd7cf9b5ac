"""What a patient id and a patient name may hold: one rule for every way a patient is created.

A patient's id and name come from people and from files (a clinician's form, a CSV or FHIR
import, the demo clinic) and are shown on every page, in charts and in downloads. They are
shown as plain text, and they are also kept to a narrow form here, so that nothing stored can
read as markup, break a line or a table, or pass for another patient:

* **Patient id** (the clinic's own record number, :attr:`data.models.Patient.external_id`):
  1 to :data:`PATIENT_ID_MAX_LENGTH` characters, each an ASCII letter, a digit, a space, or
  one of ``-`` ``_`` ``.`` ``/`` (:data:`PATIENT_ID_CHARACTERS`), the first a letter or a
  digit (so an id never starts a spreadsheet formula or a path); no trailing space. 64 is
  the length of a FHIR ``id``; record numbers are far shorter.
* **Name**: 1 to :data:`PATIENT_NAME_MAX_LENGTH` characters of one line of text: letters of
  any script, but no control character (NUL, tab, line breaks, ...), no line or paragraph
  separator and no text-direction control (which can make a name display as another).
* **Phone** (optional, a contact number for the care team): :data:`PHONE_MIN_DIGITS` to
  :data:`PHONE_MAX_DIGITS` digits, written with nothing but digits, spaces and ``+`` ``-``
  ``(`` ``)`` ``.`` (:data:`PHONE_CHARACTERS`), a ``+`` only first; no letters (so no
  extension words, no ``javascript:``, no markup). The page shows it as literal text and
  calls it through a ``tel:`` link made of its digits alone.
* **Email** (optional, for reminders): one address of at most :data:`EMAIL_MAX_LENGTH`
  characters in the plain ASCII form ``name@example.org`` (:data:`EMAIL_RULE`): a local part
  of letters, digits and ``. _ % + -`` (no dot first, last or twice in a row), an ``@``, and a
  domain of dot-separated labels of letters, digits and inner hyphens ending in a letters-only
  top-level label. Quoted local parts, comments and IP-address domains (which RFC 5322 allows)
  are refused: no reminder service needs them and each is a way to smuggle text. Addresses in
  other scripts are written in their ASCII (punycode ``xn--``) form.
* **Preferred language** (optional, for reminders): a short BCP 47 tag (RFC 5646) from the
  closed list :data:`LANGUAGES` (``"en"``, ``"es"``, ...), shown to people as words
  (:func:`language_name`). A closed list, not any well-formed tag: a reminder is only ever
  written in a language the clinic has words for.

Problems name the field and the rule, never the value: they may end up in logs.

:func:`patient_problems` (and :func:`phone_problem` in it) is called by
:func:`data.records.patients.create_patient`, the importers (:mod:`data.interchange`) and the
demo clinic (:mod:`data.demo`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "EMAIL_MAX_LENGTH",
    "EMAIL_RULE",
    "LANGUAGES",
    "LANGUAGE_RULE",
    "PATIENT_ID_CHARACTERS",
    "PATIENT_ID_MAX_LENGTH",
    "PATIENT_ID_RULE",
    "PATIENT_NAME_MAX_LENGTH",
    "PATIENT_NAME_RULE",
    "PHONE_CHARACTERS",
    "PHONE_MAX_DIGITS",
    "PHONE_MAX_LENGTH",
    "PHONE_MIN_DIGITS",
    "PHONE_RULE",
    "email_problem",
    "language_name",
    "language_problem",
    "normalize_email",
    "normalize_language",
    "normalize_phone",
    "patient_id_problem",
    "patient_name_problem",
    "patient_problems",
    "phone_problem",
]

PATIENT_ID_MAX_LENGTH = 64
"""Longest patient id, in characters (a FHIR ``id`` has at most 64)."""
PATIENT_ID_CHARACTERS = "letters A-Z and a-z, digits 0-9, space, and - _ . /"
"""The characters a patient id may hold, as the documentation and messages say them."""
PATIENT_NAME_MAX_LENGTH = 200
"""Longest patient name, in characters (the column's length)."""

PATIENT_ID_RULE = (
    f"a patient id has 1 to {PATIENT_ID_MAX_LENGTH} characters: {PATIENT_ID_CHARACTERS}, "
    "starting with a letter or a digit"
)
PATIENT_NAME_RULE = (
    f"a name is one line of 1 to {PATIENT_NAME_MAX_LENGTH} characters, without control "
    "characters, line breaks or text-direction controls"
)

PHONE_MIN_DIGITS = 7
"""Fewest digits of a phone number (a local number without its area code)."""
PHONE_MAX_DIGITS = 20
"""Most digits of a phone number (E.164 has at most 15; room for an international prefix)."""
PHONE_MAX_LENGTH = 40
"""Longest phone number as typed, in characters (the column's length)."""
PHONE_CHARACTERS = "digits 0-9, space, and + - ( ) ."
"""The characters a phone number may hold, as the documentation and messages say them."""
PHONE_RULE = (
    f"a phone number has {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits and only "
    f"{PHONE_CHARACTERS} (a + only first), at most {PHONE_MAX_LENGTH} characters, e.g. "
    "(555) 010-0123 or +1 555 010 0123"
)

EMAIL_MAX_LENGTH = 254
"""Longest email address, in characters (RFC 5321's limit on a path; the column's length)."""
EMAIL_RULE = (
    f"an email address is one address of at most {EMAIL_MAX_LENGTH} characters such as "
    "name@example.org: letters, digits and . _ % + - before the @, a domain with a dot after it"
)

LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish (español)",
    "zh": "Chinese (中文)",
    "vi": "Vietnamese (Tiếng Việt)",
    "tl": "Tagalog",
    "ko": "Korean (한국어)",
    "ar": "Arabic (العربية)",
    "ru": "Russian (русский)",
    "fr": "French (français)",
    "ht": "Haitian Creole (Kreyòl ayisyen)",
    "pt": "Portuguese (português)",
    "de": "German (Deutsch)",
}
"""The preferred languages a patient may have: BCP 47 tag -> the language in words (English
name, then the language's own name). Tags are the two-letter ISO 639-1 codes BCP 47 uses for
these languages. The list is English and languages among those most often spoken at home in
the United States (U.S. Census Bureau, American Community Survey, "Language spoken at home"),
where the clinics that use this project are; one that needs another adds a row here."""
LANGUAGE_RULE = "the preferred language is one of the languages in the list"

_EMAIL = re.compile(
    r"(?!\.)(?!.*\.\.)[A-Za-z0-9._%+-]{1,64}(?<!\.)"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_ID = re.compile(
    rf"[A-Za-z0-9](?:[A-Za-z0-9 ._/-]{{0,{PATIENT_ID_MAX_LENGTH - 2}}}[A-Za-z0-9._/-])?"
)
# Digits, spaces and ( ) - . after an optional leading "+"; the digit count is checked apart.
_PHONE = re.compile(r"\+?[0-9 ().-]+")
# Control characters (Cc: NUL, tab, CR, LF, ...), surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Embeddings, overrides and isolates reorder what follows them on screen ("Trojan source").
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def patient_id_problem(external_id: str, *, field: str = "patient_id") -> str | None:
    """Why ``external_id`` cannot be a patient id, or None if it can.

    Parameters
    ----------
    external_id : str
        The id as it will be stored (already stripped of surrounding spaces by the caller).
    field : str, default "patient_id"
        How to name the field in the message.

    Returns
    -------
    str or None
        A message that names the field and the rule, never the value.
    """
    if not external_id:
        return f"{field} is empty; {PATIENT_ID_RULE}"
    if _ID.fullmatch(external_id) is None:
        if len(external_id) > PATIENT_ID_MAX_LENGTH:
            return f"{field} is longer than {PATIENT_ID_MAX_LENGTH} characters; {PATIENT_ID_RULE}"
        return f"{field} holds a character that is not allowed; {PATIENT_ID_RULE}"
    return None


def patient_name_problem(name: str, *, field: str = "name") -> str | None:
    """Why ``name`` cannot be a patient's name, or None if it can (see the module notes)."""
    if not name.strip():
        return f"{field} is empty; {PATIENT_NAME_RULE}"
    if len(name) > PATIENT_NAME_MAX_LENGTH:
        return f"{field} is longer than {PATIENT_NAME_MAX_LENGTH} characters; {PATIENT_NAME_RULE}"
    for character in name:
        if (
            unicodedata.category(character) in _REFUSED_CATEGORIES
            or character in _DIRECTION_CONTROLS
        ):
            return f"{field} holds a control character or a line break; {PATIENT_NAME_RULE}"
    return None


def patient_problems(
    *,
    external_id: str,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    preferred_language: str | None = None,
) -> list[str]:
    """Every problem of a patient's id, name, phone, email and language (empty when all may
    be stored)."""
    problems = [
        patient_id_problem(external_id),
        patient_name_problem(name),
        phone_problem(phone),
        email_problem(email),
        language_problem(preferred_language),
    ]
    return [problem for problem in problems if problem is not None]


def normalize_email(email: str | None) -> str | None:
    """An email address as it will be stored: stripped of surrounding spaces, None when empty.

    The case is kept: the part before the ``@`` may be case-sensitive (RFC 5321, 2.4).
    """
    email = (email or "").strip()
    return email or None


def email_problem(email: str | None, *, field: str = "email") -> str | None:
    """Why ``email`` cannot be a patient's email address, or None if it can (or is empty).

    Parameters
    ----------
    email : str or None
        The address as it will be stored (see :func:`normalize_email`); None for none.
    field : str, default "email"
        How to name the field in the message.

    Returns
    -------
    str or None
        A message that names the field and the rule, never the value.

    References
    ----------
    .. [1] J. Klensin, "Simple Mail Transfer Protocol", RFC 5321 (2008), section 4.5.3.1
       (lengths of a local part, 64, and of a path, 254 usable).
    """
    if email is None:
        return None
    if len(email) > EMAIL_MAX_LENGTH:
        return f"{field} is longer than {EMAIL_MAX_LENGTH} characters; {EMAIL_RULE}"
    if _EMAIL.fullmatch(email) is None or not email.isascii():
        return f"{field} is not an email address of the form name@example.org; {EMAIL_RULE}"
    return None


def normalize_language(tag: str | None) -> str | None:
    """A language tag as it will be stored: stripped, lower case (BCP 47 tags are compared
    without regard to case, RFC 5646 2.1.1), None when empty."""
    tag = (tag or "").strip().lower()
    return tag or None


def language_problem(tag: str | None, *, field: str = "preferred language") -> str | None:
    """Why ``tag`` cannot be a patient's preferred language, or None if it can (or is empty)."""
    if tag is None or tag in LANGUAGES:
        return None
    return f"{field} is not one of the languages offered; {LANGUAGE_RULE}"


def language_name(tag: str | None) -> str:
    """A language tag in words (``"es"`` -> ``"Spanish (español)"``); blank for none, and
    the tag itself for one no longer offered."""
    if tag is None:
        return ""
    return LANGUAGES.get(tag, tag)


def normalize_phone(phone: str | None) -> str | None:
    """A phone number as it will be stored: stripped of surrounding spaces, None when empty."""
    phone = (phone or "").strip()
    return phone or None


def phone_problem(phone: str | None, *, field: str = "phone") -> str | None:
    """Why ``phone`` cannot be a patient's contact phone, or None if it can (or is empty).

    Parameters
    ----------
    phone : str or None
        The number as it will be stored (see :func:`normalize_phone`); None for no phone.
    field : str, default "phone"
        How to name the field in the message.

    Returns
    -------
    str or None
        A message that names the field and the rule, never the value.
    """
    if phone is None:
        return None
    if len(phone) > PHONE_MAX_LENGTH:
        return f"{field} is longer than {PHONE_MAX_LENGTH} characters; {PHONE_RULE}"
    # ASCII digits only: str.isdigit would also let through other scripts' digits.
    if _PHONE.fullmatch(phone) is None or not phone.isascii():
        return f"{field} holds a letter or a character that is not allowed; {PHONE_RULE}"
    digits = sum(character in "0123456789" for character in phone)
    if not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        return f"{field} has {digits} digits; {PHONE_RULE}"
    return None
