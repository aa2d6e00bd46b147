"""The lab: real systemd hosts booted with systemd-nspawn, for the distribution's tests.

See tests/lab/README.md. Entry points: `tests.lab.lab.Lab` (Python) and `python -m tests.lab`
(command line). The package uses only the standard library, so molecule's playbooks can run it
with whatever Python runs Ansible.
"""
