"""An application's status: Spark's listener events folded into a store, and the pages and
REST API (``/api/v1``) that the driver's UI and the history server serve from it."""
