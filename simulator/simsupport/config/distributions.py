"""Distribution specs as they appear in scenario files (the schema side).

A spec says *what* to draw (``{dist: lognormal, mean: 6min, cv: 0.8}``); drawing
itself is in ``simsupport.engine.sampling``.  Specs are parameterised by mean (and
coefficient of variation) rather than by textbook parameters because that is what
support teams know about their handle times, and it makes ``scaled`` trivial.
Every spec also knows its analytic mean and variance, which the analytic models
and the statistical tests rely on.
"""

from __future__ import annotations

import csv
import math
import numbers
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from simsupport.units import (
    SECONDS_PER_UNIT,
    Duration,
    PositiveDuration,
    format_duration,
)

__all__ = [
    "DISTRIBUTION_NAMES",
    "Deterministic",
    "Distribution",
    "Empirical",
    "Exponential",
    "Gamma",
    "LogNormal",
    "Uniform",
]


def _reject_bool(value: object) -> object:
    """YAML reads `yes`/`true` as bools, which pydantic would otherwise take as 1.0."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return value


# Field before BeforeValidator: the other order publishes a non-standard "gt" JSON Schema key.
CV = Annotated[float, Field(gt=0.0, allow_inf_nan=False), BeforeValidator(_reject_bool)]
"""Coefficient of variation (standard deviation / mean), a plain number above 0."""


def _check_factor(factor: float) -> float:
    """Scaling factors must keep a spec valid, so they are finite and above 0."""
    if isinstance(factor, bool) or not (isinstance(factor, numbers.Real) and math.isfinite(factor) and factor > 0):
        raise ValueError(f"scale factor {factor!r} must be a finite number above 0")
    return float(factor)


class _Spec(BaseModel):
    """Common base: frozen (specs are shared between replications) and strict about keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def expected(self) -> float:
        """Mean in seconds."""
        raise NotImplementedError

    def variance(self) -> float:
        """Variance in seconds squared."""
        raise NotImplementedError

    def scaled(self, factor: float) -> Self:
        """An equivalent spec whose samples are multiplied by ``factor`` (mean times factor, same cv)."""
        raise NotImplementedError


class Exponential(_Spec):
    """Memoryless times: the textbook M in M/M/c (cv = 1)."""

    dist: Literal["exponential"]
    mean: PositiveDuration

    def expected(self) -> float:
        return self.mean

    def variance(self) -> float:
        return self.mean * self.mean

    def scaled(self, factor: float) -> Exponential:
        """The same shape with every sample multiplied by ``factor``."""
        return self.model_copy(update={"mean": self.mean * _check_factor(factor)})


class _ByMeanAndCV(_Spec):
    """Two-parameter shapes given the way planners know them: mean and coefficient of variation."""

    mean: PositiveDuration
    cv: CV

    def expected(self) -> float:
        return self.mean

    def variance(self) -> float:
        return (self.cv * self.mean) ** 2

    def scaled(self, factor: float) -> Self:
        """Mean times ``factor``, same cv."""
        return self.model_copy(update={"mean": self.mean * _check_factor(factor)})


class LogNormal(_ByMeanAndCV):
    """Right-skewed handle times, the usual empirical fit in contact centres."""

    dist: Literal["lognormal"]


class Gamma(_ByMeanAndCV):
    """Flexible skew with lighter tails than the lognormal; cv = 1 is the exponential."""

    dist: Literal["gamma"]


class Uniform(_Spec):
    """Bounded times between `low` and `high`, e.g. a scripted task with some spread."""

    dist: Literal["uniform"]
    low: Duration
    high: PositiveDuration

    @model_validator(mode="after")
    def _low_below_high(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(
                f"low ({format_duration(self.low)}) must be below high ({format_duration(self.high)})"
            )
        return self

    def expected(self) -> float:
        return (self.low + self.high) / 2.0

    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12.0

    def scaled(self, factor: float) -> Uniform:
        """Both bounds times ``factor``."""
        f = _check_factor(factor)
        return self.model_copy(update={"low": self.low * f, "high": self.high * f})


class Deterministic(_Spec):
    """A fixed time: for what-if runs, and for textbook queues with constant service (M/D/c)."""

    dist: Literal["deterministic"]
    value: Duration

    def expected(self) -> float:
        return self.value

    def variance(self) -> float:
        return 0.0

    def scaled(self, factor: float) -> Deterministic:
        """Value times ``factor``."""
        return self.model_copy(update={"value": self.value * _check_factor(factor)})


_CSV_UNITS: Final[dict[str, float]] = {u: SECONDS_PER_UNIT[u] for u in ("s", "min", "h")}


def _as_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _read_samples(path: Path, shown: str, column: str | None, unit_seconds: float) -> tuple[float, ...]:
    """Read one numeric column of a CSV file as seconds, with errors that name the file and row.

    The header is optional: a first row that is not all numbers is taken as the header.
    ``column`` picks a column by header name; without it the file must have one column.
    Blank rows are skipped.  Row numbers are file line numbers, as an editor shows them.
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"file {shown!r} not found (looked in {path.parent})") from None
    except IsADirectoryError:
        raise ValueError(f"file {shown!r} is a folder, not a CSV file (looked in {path.parent})") from None
    except OSError as exc:
        raise ValueError(f"file {shown!r} cannot be read: {exc.strerror or exc}") from None

    values: list[float] = []
    with handle:
        reader = csv.reader(handle)
        index: int | None = None
        header_seen = False
        try:
            for row in reader:
                cells = [c.strip() for c in row]
                if not any(cells):
                    continue
                line = reader.line_num
                if index is None:
                    is_header = any(_as_float(c) is None for c in cells)
                    if column is not None:
                        if not is_header or column not in cells:
                            names = ", ".join(repr(c) for c in cells) if is_header else "none (no header row)"
                            raise ValueError(
                                f"{shown} row {line}: no column {column!r}; the header names {names}"
                            )
                        index = cells.index(column)
                    elif len(cells) != 1:
                        names = ", ".join(repr(c) for c in cells)
                        raise ValueError(
                            f"{shown} row {line}: {len(cells)} columns ({names}); "
                            f"name the one to use with column:"
                        )
                    else:
                        index = 0
                    if is_header:
                        header_seen = True
                        continue
                if index >= len(cells):
                    raise ValueError(f"{shown} row {line}: no value in column {index + 1}")
                cell = cells[index]
                if cell == "":
                    raise ValueError(f"{shown} row {line}: empty value; every row needs a number")
                number = _as_float(cell)
                if number is None:
                    raise ValueError(f"{shown} row {line}: {cell!r} is not a number")
                if not math.isfinite(number):
                    raise ValueError(f"{shown} row {line}: {cell!r} is not a finite number")
                if number < 0:
                    raise ValueError(f"{shown} row {line}: {cell} is negative; times must be 0 or more")
                values.append(number * unit_seconds)
        except UnicodeDecodeError:
            raise ValueError(f"file {shown!r} is not UTF-8 text; save it as a UTF-8 CSV file") from None
        except csv.Error as exc:
            raise ValueError(f"{shown} row {reader.line_num}: {exc}") from None
    if not values:
        what = "only a header" if header_seen else "no rows"
        raise ValueError(f"file {shown!r} has no samples ({what})")
    check_samples(values, shown)
    return tuple(values)


MAX_SAMPLE = 365 * 86400.0  # a handle time or wait longer than a year is a unit mistake


def check_samples(values: list[float] | tuple[float, ...], shown: str) -> None:
    """Samples that cannot be a time anyone waited or worked: all zero, or beyond a year."""
    if all(v == 0 for v in values):
        raise ValueError(f"{shown}: every sample is 0; an empirical time needs some positive durations "
                         "(check unit: and column:)")
    big = [v for v in values if v > MAX_SAMPLE]
    if big:
        raise ValueError(f"{shown}: {len(big)} sample(s) above a year ({max(big):.3g} s); check unit: (s, min or h)")


class Empirical(_Spec):
    """Resample observed times (bootstrap), from a CSV export (`file`) or an inline list (`samples`).

    `file` is a path relative to the scenario file's folder; `column` names the column to read
    (needed when the file has more than one); `unit` says what its numbers are in: s (default),
    min or h. Inline `samples` carry their own units, e.g. [45s, 2min, 3min 30s].
    """

    # (the folder comes from the validation context {"base_dir": Path} that config.load passes;
    # without one, the working folder is used)

    dist: Literal["empirical"]
    file: str | None = None
    column: str | None = None
    unit: Literal["s", "min", "h"] = "s"
    samples: tuple[Duration, ...] | None = None  # a tuple (YAML lists convert) keeps the frozen spec hashable

    _values: tuple[float, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> Empirical:
        if (self.file is None) == (self.samples is None):
            raise ValueError("give exactly one of file (a CSV path) or samples (a list of durations)")
        if self.samples is not None:
            if self.column is not None or self.unit != "s":
                raise ValueError(
                    "column and unit apply only to file; write each sample with its unit, e.g. [30s, 2min]"
                )
            if not self.samples:
                raise ValueError("samples is empty; give at least one duration")
            check_samples(self.samples, "samples")
            self._values = tuple(self.samples)
            return self
        assert self.file is not None
        context: Any = info.context
        base = context.get("base_dir") if isinstance(context, dict) else None
        base_dir = Path(base) if base is not None else Path.cwd()
        path = (base_dir / self.file).resolve()
        self._values = _read_samples(path, self.file, self.column, _CSV_UNITS[self.unit])
        return self

    @property
    def values(self) -> tuple[float, ...]:
        """The samples in seconds (read from ``file`` or taken from ``samples``)."""
        return self._values

    def expected(self) -> float:
        return math.fsum(self._values) / len(self._values)

    def variance(self) -> float:
        """Population variance (ddof=0): exactly the variance of a bootstrap draw."""
        mean = self.expected()
        return math.fsum((v - mean) ** 2 for v in self._values) / len(self._values)

    def scaled(self, factor: float) -> Empirical:
        """An inline-samples spec whose values are these times ``factor`` (the file is not re-read)."""
        f = _check_factor(factor)
        scaled_values = tuple(v * f for v in self._values)
        new = Empirical.model_construct(dist="empirical", samples=scaled_values)
        new._values = scaled_values
        return new


DISTRIBUTION_NAMES: Final[tuple[str, ...]] = (
    "exponential",
    "lognormal",
    "gamma",
    "uniform",
    "deterministic",
    "empirical",
)


def _require_dist(value: object) -> object:
    """Pydantic's own message for a missing tag does not list the names; this one does."""
    names = ", ".join(DISTRIBUTION_NAMES)
    if isinstance(value, dict) and "dist" not in value:
        raise ValueError(f"a distribution needs dist: one of {names}")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        raise ValueError(
            f"{value!r} is not a distribution; write a mapping such as "
            f"{{dist: exponential, mean: 6min}} (dist is one of {names})"
        )
    return value


Distribution = Annotated[
    Exponential | LogNormal | Gamma | Uniform | Deterministic | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_require_dist),
]
"""Any distribution spec, chosen by its ``dist`` field."""
