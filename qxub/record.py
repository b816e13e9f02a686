"""Records: classes of named fields, as `dataclasses.dataclass` makes them, at a fraction of
its cost when qxub starts.

dataclasses compiles each class's methods from source text as the class is made (about
0.6 ms a frozen class; a push makes some thirty) and imports `inspect` (with `ast`, `dis` and
`tokenize`). A record gets the same methods as shared functions that read the class's field
names: nothing is compiled. What qxub uses of dataclasses, kept as it was:

- the fields are the class's annotations, in order, after those of a record it derives from;
  a default is the class attribute's value, or `field(default_factory=...)` called for each
  new record;
- `__init__(*fields)` by position or name, then `__post_init__()` when the class has one;
- `__repr__`, `__eq__` (same class, equal fields but those of `field(compare=False)`);
  `frozen=True`: assigning or deleting a
  field raises FrozenInstanceError, and records hash by their fields; otherwise they are
  unhashable, as a dataclass is;
- `replace(record, **changes)`, `asdict(record)` (records within records, lists, tuples and
  dicts, recursively, as dataclasses.asdict), `fields(cls)` (the names).

Type checkers read `record` as dataclasses (PEP 681's dataclass_transform).
"""

from __future__ import annotations

import operator

TYPE_CHECKING = False  # as typing's, without importing typing at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    T = TypeVar("T")

_FIELDS = "__record_fields__"
_MISSING = object()


class FrozenInstanceError(AttributeError):
    """A field of a frozen record was assigned or deleted."""


class _Field:
    __slots__ = ("compare", "default", "default_factory")

    def __init__(self, default: Any, default_factory: Any, compare: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | Any = _MISSING,
    compare: bool = True,
) -> Any:
    """A field's default given another way than as a plain value: `default_factory` is
    called for each new record (a list, a dict of its own); `compare=False`: left out of
    `==` and the hash."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, compare)


if TYPE_CHECKING:

    @overload
    def record(cls: type[T], /) -> type[T]: ...

    @overload
    def record(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...

    @dataclass_transform(field_specifiers=(field,))
    def record(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any: ...

else:

    def record(cls=None, /, *, frozen=False):
        """The class decorator: `@record` or `@record(frozen=True)`."""

        def wrap(cls):
            return _make(cls, frozen)

        return wrap if cls is None else wrap(cls)


def fields(cls_or_record: Any) -> tuple[str, ...]:
    """The names of the fields, in order."""
    names: tuple[str, ...] = getattr(cls_or_record, _FIELDS)
    return names


def replace(obj: T, /, **changes: Any) -> T:
    """A new record like `obj` with these fields changed."""
    names = fields(obj)
    for name in changes:
        if name not in names:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    values = {name: changes[name] if name in changes else getattr(obj, name) for name in names}
    return type(obj)(**values)


def asdict(obj: Any) -> dict[str, Any]:
    """The fields as a dict, records within it (and within lists, tuples, dicts) too."""
    if not hasattr(type(obj), _FIELDS):
        raise TypeError("asdict() should be called on record instances")
    return {name: _plain(getattr(obj, name)) for name in fields(obj)}


def _plain(value: Any) -> Any:
    if hasattr(type(value), _FIELDS):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*map(_plain, value))
    if isinstance(value, list | tuple):
        return type(value)(map(_plain, value))
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return value


def _own_fields(cls: type) -> list[str]:
    """The names annotated in the class itself (not ClassVar ones), in order."""
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (no inspect)
    return [
        name
        for name, kind in annotations.items()
        if not str(kind).startswith(("ClassVar", "typing.ClassVar"))
    ]


def _make(cls: Any, frozen: bool) -> Any:
    inherited: tuple[str, ...] = ()
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    uncompared: set[str] = set()
    for base in reversed(cls.__mro__[1:]):
        if _FIELDS in base.__dict__:
            inherited += tuple(n for n in base.__dict__[_FIELDS] if n not in inherited)
            defaults.update(base.__dict__["__record_defaults__"])
            factories.update(base.__dict__["__record_factories__"])
            uncompared.update(base.__dict__["__record_uncompared__"])
    own = _own_fields(cls)
    names = (*[n for n in inherited if n not in own], *own)
    for name in own:
        value = cls.__dict__.get(name, _MISSING)
        defaults.pop(name, None)
        factories.pop(name, None)
        uncompared.discard(name)
        if isinstance(value, _Field):
            if not value.compare:
                uncompared.add(name)
            if value.default_factory is not _MISSING:
                factories[name] = value.default_factory
                delattr(cls, name)
            elif value.default is not _MISSING:
                defaults[name] = value.default
                setattr(cls, name, value.default)
            else:
                delattr(cls, name)
        elif value is not _MISSING:
            if isinstance(value, list | dict | set):
                raise ValueError(f"mutable default {type(value)} for field {name} is not allowed")
            defaults[name] = value
    seen_default = False
    for name in names:
        if name in defaults or name in factories:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    setattr(cls, _FIELDS, names)
    cls.__record_defaults__ = defaults
    cls.__record_factories__ = factories
    cls.__record_uncompared__ = frozenset(uncompared)
    cls.__init__ = _init(cls, names, defaults, factories)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq
    cls.__record_values__ = _values(tuple(n for n in names if n not in uncompared))
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            cls.__hash__ = _hash
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None
    return cls


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields' values of a record, as a tuple (attrgetter gives a bare value for one)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if not names:
        return lambda obj: ()
    get = operator.attrgetter(names[0])
    return lambda obj: (get(obj),)


def _init(
    cls: type,
    names: tuple[str, ...],
    defaults: dict[str, Any],
    factories: dict[str, Callable[[], Any]],
) -> Callable[..., None]:
    count = len(names)
    known = frozenset(names)
    title = cls.__qualname__
    post_init = "__post_init__" in dir(cls)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(
                f"{title}.__init__() takes {count + 1} positional arguments "
                f"but {len(args) + 1} were given"
            )
        values = dict(zip(names, args, strict=False))
        for key in kwargs:
            if key not in known:
                raise TypeError(f"{title}.__init__() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{title}.__init__() got multiple values for argument {key!r}")
        values.update(kwargs)
        if len(values) < count:
            for name in names:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError(
                        f"{title}.__init__() missing 1 required positional argument: {name!r}"
                    )
        self.__dict__.update(values)
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{title}.__init__"
    return __init__


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields(self))
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    values = self.__record_values__
    return bool(values(self) == values(other))


def _hash(self: Any) -> int:
    return hash(self.__record_values__(self))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
