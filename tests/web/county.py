"""A county on this machine for the web tests: node homes made with the real `anwang` CLI, and
`anwangd` processes serving the web UI on loopback ports the kernel picks.

Used by tests/web/api_test.py and tests/web/browser_test.py. Only 127.0.0.1 is ever listened on
or dialled.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

PASSPHRASE = "passphrase-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, build, home, env=None):
        self.build = build
        self.home = home
        self.proc = None
        self.web_url = None
        self.env = dict(os.environ, **(env or {}))
        self.passfile = os.path.join(os.path.dirname(home), "passphrase.txt")
        if not os.path.exists(self.passfile):
            with open(self.passfile, "w") as f:
                f.write(PASSPHRASE + "\n")
        self.cli("init")

    def cli(self, *args, check=True, passphrase=True):
        cmd = [os.path.join(self.build, "cli", "anwang"), "--home", self.home] + \
            (["--passphrase-file", self.passfile] if passphrase else []) + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if check and r.returncode != 0:
            raise RuntimeError("anwang %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def key(self, name):
        return [k["public_key"] for k in self.cli_json("key", "list") if k["name"] == name][0]

    def node_key(self):
        return self.cli_json("status")["node_key"]

    def new_key(self, name, protected=True):
        if protected:
            self.cli("key", "new", name)  # the passphrase from --passphrase-file
        else:
            self.cli("key", "new", name, "--no-passphrase", passphrase=False)
        return self.key(name)

    def ops(self):
        return self.cli_json("status")["ops"]

    def start(self, listen=None, env=None, web_listen="127.0.0.1:0"):
        cmd = [os.path.join(self.build, "node", "anwangd"), "--home", self.home, "--web-listen", web_listen]
        if listen:
            cmd += ["--listen", listen]
        self.log_path = self.home + ".log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stderr=self.log, env=dict(self.env, **(env or {})))
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"web UI 网页 at (http://127\.0\.0\.1:\d+/)", f.read())
            if m:
                self.web_url = m.group(1)
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("anwangd did not start its web UI: " + open(self.log_path).read())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def port(self):
        return int(self.web_url.rsplit(":", 1)[1].strip("/"))


class Client:
    """One browser's worth of HTTP: a cookie jar of one cookie, and the CSRF token."""

    def __init__(self, node):
        self.node = node
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, raw=False, csrf=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30)
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = "anwang_session=" + self.cookie
        if csrf and self.csrf and method != "GET":
            h.setdefault("X-CSRF-Token", self.csrf)
        data = body
        if body is not None and not raw and not isinstance(body, (bytes, str)):
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body went: the answer may still be there to read
        r = conn.getresponse()
        payload = r.read()
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                m = re.match(r"anwang_session=([^;]*)", value)
                if m:
                    self.cookie = m.group(1) or None
        conn.close()
        try:
            parsed = json.loads(payload) if payload and r.getheader("Content-Type", "").startswith("application/json") else payload
        except ValueError:
            parsed = payload
        return r.status, parsed, r

    def sign_in(self, key, passphrase=PASSPHRASE):
        status, body, _ = self.request("POST", "/api/v1/session", {"key": key, "passphrase": passphrase})
        if status == 200:
            self.csrf = body["csrf"]
        return status, body


def one_village_node(build, tmp):
    """A single node at village 一村 (150430100201) holding the county's genesis: keys root (county
    root), head (village head), member (grid member at grid -03), all with PASSPHRASE, and plain
    (no passphrase, no role)."""
    node = Node(build, os.path.join(tmp, "village"))
    for name in ("root", "head", "member"):
        node.new_key(name)
    node.new_key("plain", protected=False)
    node.cli("--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root")
    node.cli("--as", "root", "region", "add", "150430100", "--name", "新惠镇")
    node.cli("--as", "root", "region", "add", "150430100201", "--name", "一村")
    node.cli("--as", "root", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201")
    node.cli("--as", "root", "node", "enroll", node.node_key(), "--scope", "150430100201")
    node.cli("--as", "head", "delegate", "--to", "member", "--role", "grid_member", "--scope", "150430100201-03")
    return node


# The smallest JPEG a browser would send: a 1×1 white image.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")
