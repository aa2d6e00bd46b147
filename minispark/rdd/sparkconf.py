"""``SparkConf``, with PySpark's names: a user's settings for one application."""

from __future__ import annotations

import json
import os

# ``minispark submit`` hands its settings to the program it runs through this variable,
# the way spark-submit passes system properties to the driver JVM.
SUBMIT_CONF_ENV = "MINISPARK_SUBMIT_CONF"


class SparkConf:
    def __init__(self, loadDefaults: bool = True, _values: dict[str, str] | None = None) -> None:  # noqa: N803
        self._values: dict[str, str] = {}
        if loadDefaults:
            self._values.update(json.loads(os.environ.get(SUBMIT_CONF_ENV, "{}")))
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
