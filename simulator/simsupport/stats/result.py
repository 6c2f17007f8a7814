"""What one replication measured, as plain arrays: picklable, no pandas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .targets import TargetTallies


@dataclass
class ReplicationResult:
    """Everything one replication measured, as plain arrays (picklable, no pandas)."""

    replication: int
    seed: int
    class_keys: list[tuple[str, str, str, bool, int]]  # channel, category, language, vip, priority
    class_volatile: list[bool]  # class counts tickets that arrived in volatile intervals
    class_counters: np.ndarray  # [n_classes, len(COUNTERS)]
    class_hist: np.ndarray  # [n_classes, N_BINS]
    pool_names: list[str]
    pool_tiers: list[str]
    pool_channels: list[list[str]]
    pool_answered: np.ndarray  # [n_pools]
    pool_wait: np.ndarray  # [n_pools] sum of answered waits
    pool_hist: np.ndarray  # [n_pools, N_BINS]
    pool_busy: np.ndarray  # [n_pools] busy agent-seconds in the window
    pool_duty: np.ndarray  # [n_pools] on-duty agent-seconds in the window
    channel_names: list[str]
    channel_queue_area: np.ndarray  # [n_channels] integral of waiting tickets over the window
    window: float  # length of the counted window, seconds
    intervals: dict[str, list[Any]]  # tidy columns, one row per interval and channel
    in_queue_end: int  # counted tickets still waiting when the run stopped
    arrivals_counted: int  # counted arrivals, tallied by the model apart from the sink
    sim_end: float
    wall_time: float
    tickets_simulated: int
    hour_counters: np.ndarray | None = None  # [n_hours * n_channels, len(COUNTERS)], hour-major
    # hour row -> [n_channels, HOUR_BINS] for the hours that may be a scope's worst (stats.hours);
    # an hour absent had no answered ticket
    hour_hist: dict[int, np.ndarray] | None = None
    first_hour: int = 0  # clock hour (since simulation time 0) of hour row 0
    snapshots: dict[str, np.ndarray] | None = None  # t, queue area, busy and duty areas at interval edges
    # summarize(r), once the hour-level data it reads (hour_*, snapshots) has been let go
    summary: dict[str, dict[str, dict[str, float]]] | None = None
    tickets: dict[str, list[Any]] | None = None
    resolution_hist: np.ndarray | None = None  # [n_channels, N_BINS] resolution times (single-visit desks)
    journey: Any = None  # stats.journey.JourneyTotals when the scenario has a service journey
    channel_in_queue_end: np.ndarray | None = None  # [n_channels] in_queue_end by channel, tallied by the model
    targets: TargetTallies | None = None  # per staffing target (config.derived.staffing_targets), by hour and interval
    extra: dict[str, Any] = field(default_factory=dict)

