"""Helpers for bulk, million-record work in pure Python."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic tuples and lists.

    Full collections otherwise traverse every live object again and again (seconds at 1M records).
    Nothing the engine builds forms reference cycles, so reference counting frees it all; the
    previous GC state is restored afterwards. What the block built and kept goes straight to the
    oldest generation (``freeze`` then ``unfreeze``: no traversal), so the first young collection after
    the block does not walk millions of new tuples (0.3 s per 2M); full collections still see it all.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


_T = TypeVar("_T")


def fast_frozen_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass an ``__init__`` that stores each field through its slot's
    descriptor. The generated one calls ``object.__setattr__`` per field (the price of ``frozen``), which
    makes building records by the million (a template row, an aggregate encounter) twice as dear. Same
    signature, defaults and result; everything else of the dataclass (eq, hash, repr, replace, pickling)
    is untouched. Only for plain fields of the class itself: no factories, ``__post_init__``, InitVar,
    keyword-only or init=False fields, no inherited fields."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    fields = dataclasses.fields(cast(Any, cls))
    namespace: dict[str, Any] = {}
    parameters: list[str] = []
    body: list[str] = []
    for field in fields:
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain fields are supported")
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
        slot = cls.__dict__.get(field.name)  # the slot's member descriptor
        if slot is None:
            raise TypeError(f"{cls.__name__}.{field.name}: an inherited field")
        namespace[f"_set_{field.name}"] = slot.__set__
        body.append(f"    _set_{field.name}(self, {field.name})\n")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("".join(body) or "    pass\n")
    exec(source, namespace)  # generated from the dataclass's own field names, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__  # type: ignore[misc]
    cls.__init__ = init  # type: ignore[misc,method-assign]
    return cls
