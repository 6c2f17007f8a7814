"""Counter columns of a class row, SLA formula codes and interval counters: the vocabulary
shared by the collectors and the summary."""

from __future__ import annotations

# Counter columns of a class row.
COUNTERS = (
    "offered",
    "retrials",
    "blocked",
    "answered",
    "abandoned",
    "at_once",
    "wait_answered",
    "wait_abandoned",
    "sl_num",
    "sl_den",
    "short_abandoned",
    "resolved",
    "resolution",
)
C = {name: i for i, name in enumerate(COUNTERS)}

# SLA formula codes, fixed per channel.
SL_NONE, SL_ANS_ABD, SL_ANS, SL_OFFERED = -1, 0, 1, 2
SL_CODES = {"answered_and_abandoned": SL_ANS_ABD, "answered": SL_ANS, "offered": SL_OFFERED}

INTERVAL_COUNTERS = ("offered", "answered", "abandoned", "wait_answered", "sl_num", "sl_den")
