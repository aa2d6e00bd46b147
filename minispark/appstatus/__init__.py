"""An application's status, shared by the driver's UI and the history server: Spark's
listener events as plain dicts (``events``), and what is built from them.

A shared package: it imports no process package, so the driver and the history server
both load it.
"""
