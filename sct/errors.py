"""The one user-error type: bad input a person can fix (a file, a key, a value), not a bug.

Every CLI's error boundary (:mod:`sct.cli`) turns a :class:`UserError` into exit code 2 and one line on stderr;
anything else is a crash (exit 1, traceback). It subclasses ``ValueError`` so library callers that catch
``ValueError`` for bad configs keep working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input found before (or instead of) expensive work: exit code 2, one line naming the problem."""


class InputProblems(UserError):
    """Bad inputs found together: one line per problem, and the flags that fix them all (in order), which the
    error boundary appends to the user's own command as one suggested command when there are several. One
    problem reads as its own line, like any UserError; a later check adds its own with :meth:`extended`."""

    def __init__(self, problems: list[str], fixes: list[str]) -> None:
        self.problems, self.fixes = problems, list(dict.fromkeys(fixes))
        lines = [f"{len(problems)} input problems:", *(f"  - {p}" for p in problems)]
        super().__init__(problems[0] if len(problems) == 1 else "\n".join(lines))

    def extended(self, problems: list[str], fixes: list[str]) -> InputProblems:
        """These problems followed by ``problems``, with ``fixes`` after these fixes."""
        return InputProblems([*self.problems, *problems], [*self.fixes, *fixes])
