"""Controller-side helpers for the Ansible distribution (standard library only)."""
