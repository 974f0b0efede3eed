#!/usr/bin/env python3
"""Minimal HTTP/3 server and client on aioquic, for the QUIC fixture.

  quic_h3.py server --host 10.77.0.2 --port 4433 --cert C --key K
  quic_h3.py client --host 10.77.0.2 --port 4433 --sni quic.example.test --path /
  quic_h3.py client ... --alpn rustnet-bogus --expect-reject

The server answers every request with 200 and a short body.  The client
offers ALPN "h3", does not verify the certificate, sends one GET, waits for the
whole response, then closes the connection (a CONNECTION_CLOSE frame with
error code 0 / H3_NO_ERROR) and waits for the close to go out.
"""
import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.h3.connection import H3_ALPN, ErrorCode, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent


class ServerProtocol(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)

    def quic_event_received(self, event: QuicEvent) -> None:
        for ev in self._h3.handle_event(event):
            if isinstance(ev, HeadersReceived) and ev.stream_ended or \
               isinstance(ev, DataReceived) and ev.stream_ended:
                body = b"hello from rustnet quic fixture\n"
                self._h3.send_headers(ev.stream_id, [
                    (b":status", b"200"),
                    (b"server", b"rustnet-fixture-h3"),
                    (b"content-type", b"text/plain"),
                    (b"content-length", str(len(body)).encode()),
                ])
                self._h3.send_data(ev.stream_id, body, end_stream=True)
                self.transmit()


class ClientProtocol(QuicConnectionProtocol):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._h3 = H3Connection(self._quic)
        self._done = {}

    async def get(self, authority: str, path: str, ua: str) -> bytes:
        sid = self._quic.get_next_available_stream_id()
        self._h3.send_headers(sid, [
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", authority.encode()),
            (b":path", path.encode()),
            (b"user-agent", ua.encode()),
        ], end_stream=True)
        fut = self._loop.create_future()
        self._done[sid] = (fut, [])
        self.transmit()
        return await asyncio.wait_for(fut, 10)

    def quic_event_received(self, event: QuicEvent) -> None:
        for ev in self._h3.handle_event(event):
            if isinstance(ev, (HeadersReceived, DataReceived)) and ev.stream_id in self._done:
                fut, chunks = self._done[ev.stream_id]
                if isinstance(ev, DataReceived):
                    chunks.append(ev.data)
                if ev.stream_ended and not fut.done():
                    fut.set_result(b"".join(chunks))


async def run_server(a):
    cfg = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN)
    cfg.load_cert_chain(a.cert, a.key)
    await serve(a.host, a.port, configuration=cfg, create_protocol=ServerProtocol)
    print("quic server listening on %s:%d" % (a.host, a.port), flush=True)
    await asyncio.Future()


async def run_client(a):
    alpn = a.alpn.split(",") if a.alpn else H3_ALPN
    cfg = QuicConfiguration(is_client=True, alpn_protocols=alpn,
                            server_name=a.sni, verify_mode=ssl.CERT_NONE)
    if a.expect_reject:
        # The server refuses the handshake (e.g. no common ALPN) with a
        # CONNECTION_CLOSE in an Initial packet; connect() then raises.
        try:
            async with connect(a.host, a.port, configuration=cfg, wait_connected=True):
                pass
        except ConnectionError as e:
            print("handshake refused as expected: %r" % (e,))
            return
        raise SystemExit("handshake unexpectedly succeeded")
    async with connect(a.host, a.port, configuration=cfg,
                       create_protocol=ClientProtocol, wait_connected=True) as client:
        body = await client.get(a.sni, a.path, a.user_agent)
        sys.stdout.write(body.decode(errors="replace"))
        client.close(error_code=ErrorCode.H3_NO_ERROR, reason_phrase="done")
        await client.wait_closed()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=4433)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--sni", default="quic.example.test")
    ap.add_argument("--path", default="/")
    ap.add_argument("--alpn", help="comma-separated ALPN list (default h3)")
    ap.add_argument("--expect-reject", action="store_true",
                    help="expect the server to close the connection during the handshake")
    ap.add_argument("--user-agent", default="rustnet-fixture/1.0")
    a = ap.parse_args()
    asyncio.run(run_server(a) if a.mode == "server" else run_client(a))


if __name__ == "__main__":
    main()
