"""What authentication and TLS cost: no-op tasks/s and the word count, secure against plain.

    python bench/security.py [--runs 3] [--tasks 2000] [--size-mb 100]

Two kinds of ``local-cluster[2,1,1024]``, started the same way and taking turns (plain,
secure, plain, secure, ...: this is a shared machine, and its load drifts): one plain, one
with ``spark.authenticate`` (a secret file) and TLS on every link (a CA and a
host certificate for 127.0.0.1 made here with ``cryptography``; the driver has only the CA
and the secret, as a user outside the cluster would). Each turn starts a cluster, runs one
untimed warm-up of each job, then one timed run of

- ``sc.parallelize(range(N), N).foreach(lambda x: None)`` (bench/tasks.py's job), and
- the word count of bench/wordcount.py: ``textFile .flatMap .map .reduceByKey`` then
  ``count()`` and ``takeOrdered(10)``, over the file ``bench/gen_text.py`` makes.

It prints the medians and the ratios secure / plain. The issue's target: TLS and auth cost
at most 10% on both (tasks/s ratio >= 0.9, word count seconds ratio <= 1.1).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import operator
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import Row, deadline, machine_noise, print_table, timed
from gen_text import DEFAULT_DATA_DIR, ensure_text

TARGET_COST = 0.10
SIDE_GUARD_S = 1800.0


def make_credentials(root: Path) -> dict[str, str]:
    """A CA, a certificate for 127.0.0.1 signed by it, and a secret: a cluster's files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)

    def build(subject: str, issuer: str, public: object, signer: object, ca: bool) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - day)
            .not_valid_after(now + day)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        cert = builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key, host_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    files = {
        "ca": root / "ca.pem",
        "cert": root / "host.pem",
        "key": root / "host.key",
        "secret": root / "minispark.secret",
    }
    files["ca"].write_bytes(build("bench ca", "bench ca", ca_key.public_key(), ca_key, True))
    files["cert"].write_bytes(build("127.0.0.1", "bench ca", host_key.public_key(), ca_key, False))
    files["key"].write_bytes(
        host_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files["secret"].write_text(os.urandom(24).hex() + "\n")
    for private in (files["key"], files["secret"]):
        private.chmod(0o600)
    return {name: str(path) for name, path in files.items()}


def run_side(
    label: str, settings: dict[str, str], tasks: int, text: Path, runs: int
) -> dict[str, list[float]]:
    from minispark import SparkConf, SparkContext

    conf = (
        SparkConf()
        .setMaster("local-cluster[2,1,1024]")
        .setAppName(f"bench-security-{label}")
        .set("spark.ui.showConsoleProgress", "false")
    )
    for key, value in settings.items():
        conf.set(key, value)
    times: dict[str, list[float]] = {"tasks": [], "wordcount": []}
    with SparkContext(conf=conf) as sc:

        def noop_job() -> None:
            sc.parallelize(range(tasks), tasks).foreach(lambda x: None)

        def word_count() -> None:
            counts = (
                sc.textFile(str(text))
                .flatMap(str.split)
                .map(lambda w: (w, 1))
                .reduceByKey(operator.add)
            )
            assert counts.count() > 0
            counts.takeOrdered(10, key=lambda kv: -kv[1])

        noop_job()  # warm-up: task processes forked, links open
        word_count()
        for _ in range(runs):
            times["tasks"].append(timed(noop_job))
            times["wordcount"].append(timed(word_count))
            print(
                f"{label}: {tasks} no-op tasks {times['tasks'][-1]:.3f} s, "
                f"word count {times['wordcount'][-1]:.3f} s",
                file=sys.stderr,
            )
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    text = ensure_text(args.size_mb, 10_000, data_dir=args.data_dir)
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-security-") as tmp:
        files = make_credentials(Path(tmp))
        # Daemons of local-cluster get the driver's settings: the host certificate is theirs.
        secure = {
            "spark.authenticate.secret.file": files["secret"],
            "minispark.ssl.caFile": files["ca"],
            "minispark.ssl.certFile": files["cert"],
            "minispark.ssl.keyFile": files["key"],
        }
        plain: dict[str, list[float]] = {"tasks": [], "wordcount": []}
        safe: dict[str, list[float]] = {"tasks": [], "wordcount": []}
        with machine_noise("both"), deadline(SIDE_GUARD_S, "the clusters"):
            for _ in range(args.runs):
                for label, settings, into in (("plain", {}, plain), ("auth+TLS", secure, safe)):
                    for job, times in run_side(label, settings, args.tasks, text, 1).items():
                        into[job] += times
    plain_rate = args.tasks / statistics.median(plain["tasks"])
    safe_rate = args.tasks / statistics.median(safe["tasks"])
    plain_wc, safe_wc = statistics.median(plain["wordcount"]), statistics.median(safe["wordcount"])
    rows = [
        Row(
            "no-op tasks per second",
            safe_rate,
            plain_rate,
            f">= {1 - TARGET_COST:g}x plain",
            safe_rate >= (1 - TARGET_COST) * plain_rate,
        ),
        Row(
            f"word count of {args.size_mb} MiB (s)",
            safe_wc,
            plain_wc,
            f"<= {1 + TARGET_COST:g}x plain",
            safe_wc <= (1 + TARGET_COST) * plain_wc,
        ),
    ]
    print_table(f"auth+TLS (minispark column) against plain, median of {args.runs}", "plain", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
