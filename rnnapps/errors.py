"""The error type for bad input: what was wrong, where, and what to do.

The CLI prints a `UserError` as one line and exits with code 2; library callers can catch it as a
`ValueError`.
"""


class UserError(ValueError):
    """Bad input from the user (a recipe, a data file, a bundle, a CLI argument).

    The message names the place (file, line, field), the value seen and what was expected.
    """
