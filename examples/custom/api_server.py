"""A small HTTP API to try the custom connector examples on: a paginated, token-protected list
of users, their activities, and a webhook that keeps what it receives.

    python3 examples/custom/api_server.py --port 8765 --token secret-token --users 25

GET  /users?page=N&per_page=M[&updated_since=ISO]   users updated after updated_since, by updated_at
GET  /activities                                    ten activities per call, ids going on
POST /webhook                                       stores the JSON body
POST /admin/add-users?n=N                           N new users, updated now
POST /admin/touch?id=I                              user I updated now
POST /admin/fail?times=N                            the next N API calls answer 503
GET  /admin/requests                                the request log (JSON lines)
GET  /admin/webhook                                 what /webhook received (JSON lines)
"""

import argparse
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
users = []
requests_log = []
received = []
state = {"fail": 0, "activity": 0, "clock": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)}


def tick():
    state["clock"] += datetime.timedelta(seconds=1)
    return state["clock"].isoformat().replace("+00:00", "Z")


def add_users(n):
    for _ in range(n):
        i = len(users) + 1
        users.append({"id": i, "name": f"user {i}", "email": f"user{i}@example.com",
                      "address": {"city": ["Lyon", "Oslo", "Lima"][i % 3], "zip": f"{10000 + i}"},
                      "tags": ["new"] if i % 2 else [], "updated_at": tick()})


class Handler(BaseHTTPRequestHandler):
    token = ""

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with lock:
            if url.path == "/admin/requests":
                return self.reply(200, requests_log)
            if url.path == "/admin/webhook":
                return self.reply(200, received)
            requests_log.append({"path": url.path, "query": q})
            if self.headers.get("Authorization") != f"Bearer {self.token}":
                return self.reply(401, {"error": "bad token"})
            if state["fail"] > 0:
                state["fail"] -= 1
                return self.reply(503, {"error": "try again"})
            if url.path == "/users":
                since = q.get("updated_since", "")
                rows = sorted((u for u in users if u["updated_at"] > since), key=lambda u: (u["updated_at"], u["id"]))
                page, per_page = int(q.get("page", 1)), int(q.get("per_page", 10))
                chunk = rows[(page - 1) * per_page: page * per_page]
                more = page * per_page < len(rows)
                return self.reply(200, {"data": chunk, "next_page": page + 1 if more else None})
            if url.path == "/activities":
                out = []
                for _ in range(10):
                    state["activity"] += 1
                    a = state["activity"]
                    out.append({"id": a, "user_id": 1 + a % max(len(users), 1), "kind": "login", "at": tick()})
                return self.reply(200, {"data": out})
        return self.reply(404, {"error": "no such path"})

    def do_POST(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            if url.path == "/admin/add-users":
                add_users(int(q.get("n", 1)))
                return self.reply(200, {"users": len(users)})
            if url.path == "/admin/touch":
                users[int(q["id"]) - 1]["updated_at"] = tick()
                return self.reply(200, {})
            if url.path == "/admin/fail":
                state["fail"] = int(q.get("times", 1))
                return self.reply(200, {})
            if url.path == "/webhook":
                if state["fail"] > 0:
                    state["fail"] -= 1
                    return self.reply(503, {"error": "try again"})
                received.append(json.loads(body))
                return self.reply(200, {"status": "ok"})
        return self.reply(404, {"error": "no such path"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--users", type=int, default=25)
    args = parser.parse_args()
    Handler.token = args.token
    add_users(args.users)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
