"""The one error every settings reader raises."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting is missing or invalid: `str()` is the variable's name followed by what is wrong with it."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable} {problem}")
        self.variable = variable
        self.problem = problem
