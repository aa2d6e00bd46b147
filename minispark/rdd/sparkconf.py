"""``SparkConf``, with PySpark's names: a user's settings for one application.

What the program sets wins over what ``minispark submit`` resolved from its flags, --conf
and properties file (the full order is in ``minispark.appconf``).
"""

from __future__ import annotations

from collections.abc import Mapping

# What ``minispark submit`` resolved for the program it runs in this process, as
# spark-submit hands the driver JVM system properties. In-process rather than in the
# environment, so that nothing the program starts inherits the application's settings.
_submitted: dict[str, str] = {}


def use_submitted(settings: Mapping[str, str]) -> None:
    """Called by ``minispark submit`` before it runs the program: SparkConf() starts here."""
    _submitted.clear()
    _submitted.update(settings)


class SparkConf:
    def __init__(self, loadDefaults: bool = True, _values: dict[str, str] | None = None) -> None:  # noqa: N803
        self._values: dict[str, str] = {}
        if loadDefaults:
            self._values.update(_submitted)
        if _values:
            self._values.update(_values)

    def set(self, key: str, value: object) -> SparkConf:
        self._values[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return self

    def setIfMissing(self, key: str, value: object) -> SparkConf:  # noqa: N802
        if key not in self._values:
            self.set(key, value)
        return self

    def setMaster(self, value: str) -> SparkConf:  # noqa: N802
        return self.set("spark.master", value)

    def setAppName(self, value: str) -> SparkConf:  # noqa: N802
        return self.set("spark.app.name", value)

    def setAll(self, pairs: list[tuple[str, str]]) -> SparkConf:  # noqa: N802
        for key, value in pairs:
            self.set(key, value)
        return self

    def get(self, key: str, defaultValue: str | None = None) -> str | None:  # noqa: N803
        return self._values.get(key, defaultValue)

    def getAll(self) -> list[tuple[str, str]]:  # noqa: N802
        return list(self._values.items())

    def contains(self, key: str) -> bool:
        return key in self._values

    def toDebugString(self) -> str:  # noqa: N802
        return "\n".join(f"{k}={v}" for k, v in sorted(self._values.items()))

    def copy(self) -> SparkConf:
        return SparkConf(loadDefaults=False, _values=dict(self._values))
