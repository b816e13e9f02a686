"""qxub.record: the records that stand in for dataclasses (without their start-up cost)
behave as dataclasses do in what qxub uses, side by side with the real thing."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from qxub import record as records
from qxub.record import field, record


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    stamp: float | None = field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class RealPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    stamp: float | None = dataclasses.field(default=None, compare=False)


@record
class Bag:
    name: str
    items: list[str] = field(default_factory=list)
    seen: int = 0


@record(frozen=True)
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")
        object.__setattr__(self, "double", self.value * 2)


@record
class Derived(Bag):
    extra: str = "e"


def test_construction_repr_and_equality_match_dataclasses() -> None:
    for make in (Point, RealPoint):
        assert make(1).y == 0 and make(1, 2).y == 2 and make(x=1, tags=("a",)).tags == ("a",)
    assert repr(Point(1, 2, ("a",))) == repr(RealPoint(1, 2, ("a",))).replace("RealP", "P")
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(1, 3)
    assert Point(1, stamp=1.0) == Point(1, stamp=2.0)  # compare=False
    assert hash(Point(1, stamp=1.0)) == hash(Point(1, stamp=2.0))
    assert Point(1) != RealPoint(1)  # type: ignore[comparison-overlap]  # another class
    assert {Point(1), Point(1), Point(2)} == {Point(1), Point(2)}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "missing 1 required positional argument: 'x'"),
        ((1, 2, (), None, 5), {}, "positional arguments but 6 were given"),
        ((1,), {"x": 2}, "got multiple values for argument 'x'"),
        ((1,), {"z": 2}, "got an unexpected keyword argument 'z'"),
    ],
)
def test_wrong_arguments_raise_type_error_as_dataclasses(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    makers: list[Any] = [Point, RealPoint]
    for make in makers:
        with pytest.raises(TypeError, match=message):
            make(*args, **kwargs)


def test_frozen_records_refuse_changes() -> None:
    point = Point(1)
    with pytest.raises(records.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.x
    assert point.x == 1


def test_mutable_records_have_their_own_defaults_and_no_hash() -> None:
    one, two = Bag("a"), Bag("b")
    one.items.append("x")
    one.seen += 1
    assert two.items == [] and one == Bag("a", ["x"], 1)
    with pytest.raises(TypeError):
        hash(one)
    assert Derived("d").extra == "e" and Derived("d", ["i"], 1, "f").items == ["i"]
    assert records.fields(Derived) == ("name", "items", "seen", "extra")


def test_post_init_runs() -> None:
    assert Checked(2).double == 4  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_replace_asdict_and_pickle() -> None:
    point = Point(1, 2, ("a",), 3.0)
    moved = records.replace(point, y=5)
    assert moved == Point(1, 5, ("a",)) and moved.stamp == 3.0 and point.y == 2
    with pytest.raises(TypeError, match="no field 'z'"):
        records.replace(point, z=1)
    nested = Bag("n", [point])  # type: ignore[list-item]
    assert records.asdict(nested) == {
        "name": "n",
        "items": [{"x": 1, "y": 2, "tags": ("a",), "stamp": 3.0}],
        "seen": 0,
    }
    assert pickle.loads(pickle.dumps(point)) == point


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class Wrong:
            a: int = 0
            b: int  # type: ignore[misc]
