"""An application's status, shared by the driver's UI and the history server: Spark's
listener events as plain dicts (``events``), the store they are folded into (``store``), and
the pages and REST API (``/api/v1``) served from it.

A shared package: it imports no process package, so the driver and the history server
both load it.
"""
