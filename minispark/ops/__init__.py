"""Operations: live-state probes of a running cluster, for the Ansible playbooks and Fabric.

Everything here runs on the operator's machine, which may not have minispark's dependencies:
the playbooks run ``PYTHONPATH=<checkout> python3 -m minispark.ops CHECK ...``. So this
package imports nothing but the standard library (a unit test proves it), and this file
imports nothing at all.

- ``probes``: one look at a ZooKeeper member or a master (``ProbeError`` when it cannot tell);
- ``checks``: the conditions the ``wait-*`` commands wait for;
- ``gate``: wait until a check holds several times in a row;
- ``table``: the cluster snapshot as a fixed-width text table;
- ``credentials``: the secret and CA, found where the playbooks keep them;
- ``tls``: how probes trust an HTTPS web port (the cluster CA, host names checked);
- ``certs``: when each daemon's web certificate expires;
- ``__main__``: the command line, one JSON object per run.
"""
