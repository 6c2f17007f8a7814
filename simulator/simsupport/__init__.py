"""simsupport: discrete-event simulation of a multilingual support desk under market volatility."""

from __future__ import annotations

__version__ = "0.1.0"
