"""The one exception root for user mistakes.

    SimsupportError
     └── ScenarioError   bad scenario/experiment input: file, field path, line, what is allowed

Anything that is not a SimsupportError is a bug in simsupport, and the CLI says so.
"""

from __future__ import annotations


class SimsupportError(Exception):
    """Root of the errors that are the user's to fix (exit code 2 on the command line)."""


class ScenarioError(SimsupportError):
    """A scenario (or experiment) file that cannot be used, with where and why."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = " ".join(str(message).split())  # one paragraph, whatever the source said
        self.file = file
        self.field = field
        self.line = line
        self.column = column
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"
