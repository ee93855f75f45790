"""A deliberately broken OpenAI-compatible server, run as its own process by the tests.

Real servers do not send malformed streams on purpose, so this one does, by path prefix:
/garbage (non-JSON data line), /html (200 with an HTML page), /truncated (stream ends without a
finish), /flaky (503 on the first request, then a good stream), /error (an error event mid-stream),
/stall (the stream opens, then nothing for two minutes: a server busy with other requests).
Usage: python bad_server.py PORT
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HITS: dict[str, int] = {}


def chunk(text, finish=None):
    return "data: " + json.dumps({"choices": [{"index": 0, "text": text, "finish_reason": finish}]}) + "\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        mode = self.path.strip("/").split("/")[0]
        HITS[mode] = HITS.get(mode, 0) + 1
        if mode == "flaky" and HITS[mode] == 1:
            self.send_response(503)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "warming up"}}')
            return
        if mode == "html":
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>proxy login</html>")
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        if mode == "stall":
            self.wfile.flush()
            time.sleep(120)
            return
        body = chunk("Let me ") + chunk("think")
        if mode == "garbage":
            body += "data: {this is not json\n\n"
        elif mode == "error":
            body += 'data: {"error": {"message": "CUDA out of memory"}}\n\n'
        elif mode == "truncated":
            pass
        else:
            body += chunk(". \\boxed{3}", "stop") + "data: [DONE]\n\n"
        self.wfile.write(body.encode())
        self.wfile.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
