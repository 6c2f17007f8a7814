"""Every random stream of a replication, declared once.

A stream is named by one of the functions below and nothing else: `rng.Streams` refuses a
plain string, so a misspelt stream is an error instead of a silent new source of randomness
(which would break common random numbers without a sound). The names themselves are part of
the reproducibility contract: renaming one changes every result that draws from it.
"""

from __future__ import annotations


class Stream(str):
    """A declared stream name (only the functions of this module make them)."""

    __slots__ = ()


# -- arrivals and customers -------------------------------------------------------------------
def arrivals(channel: str) -> Stream:
    """Gaps between a channel's scheduled arrivals."""
    return Stream(f"arrivals/{channel}")


def ticket_class(channel: str) -> Stream:
    """Which class (category, language, VIP) an arrival on a channel is."""
    return Stream(f"class/{channel}")


def patience(channel: str) -> Stream:
    return Stream(f"patience/{channel}")


def later_patience(channel: str) -> Stream:
    """Patience on a journey's later visits (escalations, follow-ups)."""
    return Stream(f"patience/{channel}/later")


def work(name: str) -> Stream:
    """Work content: `name` is the category, with `/language=..`, `/channel=..` or `/tier=..`
    suffixes for classes whose handle time is specified apart (see plan.desk)."""
    return Stream(f"work/{name}")


def wrap_up(category: str) -> Stream:
    return Stream(f"wrapup/{category}")


def routing() -> Stream:
    """Random agent choice."""
    return Stream("routing")


# -- retries ------------------------------------------------------------------------------------
def retry(channel: str) -> Stream:
    return Stream(f"retry/{channel}")


def retry_delay(channel: str) -> Stream:
    return Stream(f"retry_delay/{channel}")


def retry_patience(channel: str) -> Stream:
    return Stream(f"retry_patience/{channel}")


# -- market -------------------------------------------------------------------------------------
def market(part: str) -> Stream:
    """The market path: part is regime, returns, garch, bootstrap or busyness."""
    if part not in MARKET_PARTS:
        raise ValueError(f"undeclared market stream {part!r}; declared: {', '.join(MARKET_PARTS)}")
    return Stream(f"market/{part}")


MARKET_PARTS = ("regime", "returns", "garch", "bootstrap", "busyness")


def contagion(channel: str) -> Stream:
    """How many contacts one contact triggers (Hawkes branching)."""
    return Stream(f"contagion/{channel}")


def contagion_delay(channel: str) -> Stream:
    return Stream(f"contagion_delay/{channel}")


# -- the service journey ------------------------------------------------------------------------
def bot_time(channel: str) -> Stream:
    return Stream(f"bot/{channel}")


def deflect(channel: str) -> Stream:
    return Stream(f"deflect/{channel}")


def needs_info(channel: str) -> Stream:
    return Stream(f"needs_info/{channel}")


def needs_info_delay(channel: str) -> Stream:
    return Stream(f"needs_info_delay/{channel}")


def reopen(channel: str) -> Stream:
    return Stream(f"reopen/{channel}")


def reopen_delay(channel: str) -> Stream:
    return Stream(f"reopen_delay/{channel}")


def escalate(channel: str) -> Stream:
    return Stream(f"escalate/{channel}")


def announce(channel: str) -> Stream:
    return Stream(f"announce/{channel}")


# -- a live start -------------------------------------------------------------------------------
def initial(part: str, index: int) -> Stream:
    """The backlog and busy agents at time 0: part is busy, class, age or patience."""
    if part not in INITIAL_PARTS:
        raise ValueError(f"undeclared initial stream {part!r}; declared: {', '.join(INITIAL_PARTS)}")
    return Stream(f"initial/{part}/{index}")


INITIAL_PARTS = ("busy", "class", "age", "patience")
