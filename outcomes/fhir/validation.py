"""Validation of every FHIR resource read or written, with errors that name the place.

Every resource is validated with ``fhir.resources`` 8. That package ships models for FHIR R4B
(4.3.0) and STU3 but not R4 (4.0.1); R4B's ``QuestionnaireResponse``, ``Observation`` and
``Bundle`` have the same elements and JSON as R4's, so the R4B models are used for R4 content.
The models forbid unknown elements, and would therefore reject the non-standard
``QuestionnaireResponse.item.code``. That one element is removed from a copy before validation
(:func:`without_item_codes`; every other unknown element still fails), and items are
identified and answers read from the caller's original mapping. Reading the original mapping
also keeps JSON types exact: the models coerce ``true`` and ``"2"`` to the integers 1 and 2,
which would turn an unreadable answer into a plausible one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from outcomes.errors import FhirError

__all__ = ["require_resource_type", "validate", "without_item_codes"]

_Model = TypeVar("_Model", bound=BaseModel)


def require_resource_type(resource: object, expected: str, *, where: str) -> None:
    """Refuse anything but a JSON object of the expected ``resourceType``."""
    if not isinstance(resource, Mapping):
        raise FhirError(
            f"{where}expected a FHIR {expected} as a JSON object (mapping), got "
            f"{type(resource).__name__}"
        )
    found = resource.get("resourceType")
    if found != expected:
        raise FhirError(f"{where}expected resourceType {expected!r}, got {found!r}")


def without_item_codes(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a QuestionnaireResponse without the non-standard ``item.code`` elements."""

    def clean_items(items: object) -> object:
        if not isinstance(items, list):
            return items
        return [clean_item(item) for item in items]

    def clean_item(item: object) -> object:
        if not isinstance(item, Mapping):
            return item
        out = {key: value for key, value in item.items() if key != "code"}
        if "item" in out:
            out["item"] = clean_items(out["item"])
        if isinstance(out.get("answer"), list):
            out["answer"] = [
                {**answer, "item": clean_items(answer["item"])}
                if isinstance(answer, Mapping) and "item" in answer
                else answer
                for answer in out["answer"]
            ]
        return out

    copy = dict(resource)
    if "item" in copy:
        copy["item"] = clean_items(copy["item"])
    return copy


def validate(
    model: type[_Model],
    data: Mapping[str, Any],
    *,
    original: Mapping[str, Any] | None = None,
    where: str = "",
) -> _Model:
    """Validate with fhir.resources, turning its errors into a FhirError that names places."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{_locate(original if original is not None else data, e['loc'])}: {e['msg']}"
            for e in error.errors()
        ]
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise FhirError(f"{where}not a valid FHIR R4 {model.__name__}: {shown}{more}") from None
    except (KeyError, TypeError, ValueError) as error:
        # fhir.resources raises a bare KeyError for an unknown nested resourceType.
        raise FhirError(f"{where}not a valid FHIR R4 {model.__name__}: {error!r}") from None


def _locate(data: object, loc: Sequence[int | str]) -> str:
    """A readable path for a pydantic error location, with the innermost item's linkId."""
    path = ""
    link_id: str | None = None
    node = data
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            if step == "root":
                continue
            path += f".{step}" if path else step
            node = node.get(step) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and isinstance(node.get("linkId"), str):
            link_id = node["linkId"]
    if link_id is not None:
        return f"{path or 'resource'} (in linkId {link_id!r})"
    return path or "resource"
