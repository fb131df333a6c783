"""A webhook receiver on 127.0.0.1 (ephemeral port) that records every request and answers from a script."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        # status for the n-th request carrying a given Earmark-Delivery id (the last one repeats)
        self.script: list[int] = [200]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    delivery = self.headers.get("Earmark-Delivery")
                    n = sum(1 for r in receiver.requests if r["headers"].get("Earmark-Delivery") == delivery)
                    status = receiver.script[min(n, len(receiver.script) - 1)]
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
                    )
                reply = b'{"ok": true}' if status < 300 else b"receiver is down for a moment"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    """The receiver, with 127.0.0.1 allowed as a webhook host (the site setting tests need)."""
    settings.EARMARK_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.EARMARK_WEBHOOK_RETRY_BASE_SECONDS = 0.2
    r = Receiver()
    yield r
    r.close()
