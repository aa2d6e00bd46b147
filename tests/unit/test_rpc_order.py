"""A reply is acted on before the next message on its connection is handled.

A master answers a worker's registration and at once sends it LaunchExecutor, on the same
connection. When both frames arrive together, the worker must have taken in the reply (which
makes that master its leader) before it handles the launch; otherwise it drops the launch as
"from a master that is not our leader" while the master counts the executor as placed, and a
running application waits forever for it (seen in rolling restarts: issue 8).
"""

from __future__ import annotations

import asyncio
from typing import Any

from minispark import protocol as p
from minispark import rpc


def test_the_asker_sees_its_reply_before_the_message_that_follows_it() -> None:
    pushed = p.KillExecutor(epoch=1, app_id="app", exec_id=0)

    def server_handler(conn: rpc.Connection, message: Any) -> p.Message:
        # Written right after the reply, so both frames reach the client in one read.
        asyncio.get_running_loop().call_soon(conn.send, pushed)
        return p.Ack()

    async def main() -> list[bool]:
        state = {"registered": False}
        seen: list[bool] = []
        arrived = asyncio.Event()

        def client_handler(conn: rpc.Connection, message: Any) -> None:
            seen.append(state["registered"])
            arrived.set()

        server = rpc.Server(
            name="t", inbound=p.ToMaster, handler=server_handler, security=rpc.Security()
        )
        port = await server.start("127.0.0.1", 0)
        conn = await rpc.connect(
            "127.0.0.1",
            port,
            inbound=p.ToWorker,
            handler=client_handler,
            security=rpc.Security(),
            role="worker",
        )
        for _ in range(20):
            state["registered"] = False
            arrived.clear()

            async def register() -> None:
                await conn.ask(p.UnregisterApplication(app_id="a"))
                state["registered"] = True  # what _registered_with does, synchronously

            # As the worker does it: the ask runs in a task of its own (asyncio.gather).
            await asyncio.gather(register())
            await asyncio.wait_for(arrived.wait(), 5)
        server.close()
        return seen

    assert asyncio.run(main()) == [True] * 20
