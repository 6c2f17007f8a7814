"""What every part of the scenario schema shares: frozen models that refuse unknown keys,
names, time zones, and how many of a block of agents are on duty after shrinkage."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def on_duty(agents: int, shrinkage: float) -> int:
    """Agents of a block actually on duty: shrinkage removes that share, rounded to whole agents."""
    return int(round(agents * (1.0 - shrinkage)))


def check_timezone(value: str) -> str:
    """The value, if it is a time zone this machine knows (IANA names)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as UTC, Europe/London, "
            "Asia/Singapore or America/New_York"
        ) from None
    return value


def _whole_agents(value: object) -> object:
    """YAML reads `agents: true` as a bool, which would run as 1 agent."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a headcount; write a whole number of agents, such as 12")
    return value


Headcount = Annotated[int, Field(ge=0, le=100_000), BeforeValidator(_whole_agents)]


class Report(Frozen):
    """How results are shown: the clock of plots, tables' `local_time` and the HTML report."""

    timezone: Annotated[str, AfterValidator(check_timezone)] | None = Field(
        default=None,
        description="the desk's own clock for plots and reports (default: the zone most pools and channels use, "
        "else UTC); stored timestamps stay in UTC",
    )
