"""A TCP proxy that delivers every byte DELAY_MS late in each direction (a distant endpoint's
round trip on loopback, where netem is missing): `delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS`.
Bandwidth is not limited; order within a connection is kept."""
import asyncio
import sys


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.create_task(deliver())
    while True:
        data = await reader.read(1 << 16)
        queue.put_nowait((loop.time() + delay, data))
        if not data:
            break
    await task


async def main(listen, target, delay):
    async def handle(client_r, client_w):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(
            pipe(client_r, server_w, delay),
            pipe(server_r, client_w, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
