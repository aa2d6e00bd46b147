"""The history server (``minispark history-server``): finished and running applications'
event logs, listed from their heads and replayed into an ``appstatus.AppStore`` on first view,
so the same pages and REST API the driver serves show them after the driver is gone."""
