"""A scripted OpenAI-compatible model server, run as its own process by the replica tests.

It plays DeepSeekMath's part in solve mode: the rule whose `when` is in the student's latest message
answers the first round with a ```python block (`code`) and, once the prompt carries the cell's output,
the second round with `answer`, streamed over `slow_s` seconds. `die_after` chunks into a reply, the
whole process exits (a model server that crashes mid-stream; 0: before any text). GET /stats says how
many completions it was asked for.
Usage: python model_server.py PORT SCRIPT.json
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"completions": 0}
RULES: list = []


def chunk(text, finish=None):
    return ("data: " + json.dumps({"choices": [{"index": 0, "text": text, "finish_reason": finish}]}) + "\n\n").encode()


def reply_for(prompt):
    latest = prompt.rsplit("User:", 1)[-1]
    reply = prompt.rsplit("Assistant:", 1)[-1]
    for rule in RULES:
        if rule["when"] in latest.split("\n\nAssistant:", 1)[0]:
            if "```output" in reply:
                return rule["answer"], float(rule.get("slow_s", 0.0)), rule.get("die_after")
            return f"Let me compute it.\n```python\n{rule['code']}\n```\n```output\n", 0.0, rule.get("die_after")
    return "I am not sure. $\\boxed{0}$", 0.0, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def _json(self, data):
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/stats"):
            self._json(STATS)
        else:
            self._json({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        STATS["completions"] += 1
        text, slow_s, die_after = reply_for(body.get("prompt", ""))
        if die_after == 0:
            os._exit(3)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)]
        for n, piece in enumerate(pieces):
            if die_after is not None and n >= die_after:
                self.wfile.flush()
                os._exit(3)
            self.wfile.write(chunk(piece))
            self.wfile.flush()
            if slow_s:
                time.sleep(slow_s / len(pieces))
        self.wfile.write(chunk("", "stop") + b"data: [DONE]\n\n")
        self.wfile.flush()


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as fh:
        RULES.extend(json.load(fh))
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
