"""Delay packets by a fixed time: an NFQUEUE listener that accepts each packet `ms` late.

The lab's "slow link" fault. The usual tool, `tc qdisc ... netem delay`, is not built into the
kernels of the machines this runs on (CONFIG_NET_SCH_NETEM is off), but NFQUEUE is: iptables
hands the host's packets to this process, which gives them back after the delay. The rules
use --queue-bypass, so if this process is gone, packets flow undelayed rather than dropped.

Run as a script (no package imports) so it can be started from anywhere:
    python3 delayer.py QUEUE MILLIS
Stops on SIGTERM/SIGINT, releasing every packet it still holds.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Iterator
from types import FrameType

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQNL_CFG_CMD_BIND = 1
NFQNL_CFG_CMD_UNBIND = 2
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NF_ACCEPT = 1
MAX_QUEUED = 20000
HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
NFGEN = struct.Struct("=BBH")  # nfgenmsg: family, version, res_id (big endian, packed below)


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _message(msg_type: int, queue: int, attrs: bytes) -> bytes:
    body = NFGEN.pack(socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    kind = (NFNL_SUBSYS_QUEUE << 8) | msg_type
    return HEADER.pack(HEADER.size + len(body), kind, NLM_F_REQUEST, 0, 0) + body


def _attributes(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & 0x7FFF, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def packet_ids(data: bytes) -> Iterator[int]:
    """The ids of the queued packets announced in one netlink datagram."""
    offset = 0
    while offset + HEADER.size <= len(data):
        length, kind, _flags, _seq, _pid = HEADER.unpack_from(data, offset)
        if length < HEADER.size:
            return
        if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
            attrs = data[offset + HEADER.size + NFGEN.size : offset + length]
            for attr_kind, payload in _attributes(attrs):
                if attr_kind == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", payload)[0]
        elif kind == NLMSG_ERROR:
            code = struct.unpack_from("=i", data, offset + HEADER.size)[0]
            if code != 0:
                raise OSError(-code, "nfqueue configuration refused")
        offset += (length + 3) & ~3


def open_queue(queue: int) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    bind = struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_UNSPEC)
    sock.send(_message(NFQNL_MSG_CONFIG, queue, _attr(NFQA_CFG_CMD, bind)))
    config = (
        _attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
        + _attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", MAX_QUEUED))
        # Fail open: when the queue is full the kernel lets packets pass instead of dropping.
        + _attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
        + _attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))
    )
    sock.send(_message(NFQNL_MSG_CONFIG, queue, config))
    return sock


def accept(sock: socket.socket, queue: int, packet_id: int) -> None:
    verdict = _attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))
    sock.send(_message(NFQNL_MSG_VERDICT, queue, verdict))


def serve(queue: int, delay: float) -> None:
    """Hold each packet of `queue` for `delay` seconds, in arrival order, until told to stop."""
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    held: deque[tuple[float, int]] = deque()
    released = 0
    sock = open_queue(queue)
    print(f"delaying queue {queue} by {delay * 1000:.0f}ms", flush=True)
    try:
        while not stopping:
            wait = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
            with contextlib.suppress(InterruptedError):
                ready, _, _ = select.select([sock], [], [], wait)
            if ready:
                due = time.monotonic() + delay
                held.extend((due, pid) for pid in packet_ids(sock.recv(1 << 16)))
            while held and held[0][0] <= time.monotonic():
                accept(sock, queue, held.popleft()[1])
                released += 1
    finally:
        while held:  # nothing is lost when the fault ends
            accept(sock, queue, held.popleft()[1])
            released += 1
        unbind = struct.pack("!BxH", NFQNL_CFG_CMD_UNBIND, socket.AF_UNSPEC)
        sock.send(_message(NFQNL_MSG_CONFIG, queue, _attr(NFQA_CFG_CMD, unbind)))
        sock.close()
        print(f"released {released} packets", flush=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]) / 1000.0)
