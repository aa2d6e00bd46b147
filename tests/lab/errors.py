"""The one exception type of the lab."""


class LabError(RuntimeError):
    """A lab operation failed; the message says what went wrong and, where possible, what to do."""
