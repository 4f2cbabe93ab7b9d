"""The shared fixture of the gRPC tests: a real masad on a fresh `masactl dev-init` state,
driven with Python grpcio (a client that is not ours) through stubs that protoc generates
from api/grpc/ovgs.proto at test time.

A test file starts one masad for all its tests and stops it at the end:

    import ovgs_fixture as fx

    class MyTest(fx.OvgsTestCase):          # setUpClass starts masad, tearDownClass stops it
        def test_x(self):
            admin = self.world.org("alpha")  # org-alpha with an admin and its token (cached)
            stub = self.world.stub(admin.token)                # Bearer metadata
            stub = self.world.stub(admin.token, via="cookie")  # cookie: access_token=...
            g = stub.CreateGroup(fx.pb.CreateGroupRequest(parent="org-alpha", description="x"))
            with self.assertRpcError(fx.grpc.StatusCode.NOT_FOUND):
                stub.GetGroup(fx.pb.GetGroupRequest(group_id="nope"))

    if __name__ == "__main__":
        fx.main()

World also offers masactl(...), rest(...) (the REST API over TLS with the dev CA),
user(...) (a new user or service account with a token), token_for(...) (a new token of a
principal), assign_serials(...), and paths: root (scratch), state, tls_ca, trust_anchor.
The environment (set by tests/CMakeLists.txt): MASAD, MASACTL, OPENSSL, PROTOC,
GRPC_PYTHON_PLUGIN, MASA_SOURCE_DIR. Run one file by hand with those set and
/usr/bin/python3 tests/grpc/test_transport.py.
"""

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import grpc

SOURCE_DIR = os.environ.get("MASA_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(
                                os.path.abspath(__file__)))))
MASAD = os.environ.get("MASAD", "masad")
MASACTL = os.environ.get("MASACTL", "masactl")
OPENSSL = os.environ.get("OPENSSL", "openssl")
PROTO = os.path.join(SOURCE_DIR, "api", "grpc", "ovgs.proto")


def generate_stubs(proto):
    """Generates the Python messages and stubs of `proto` into a temp folder on sys.path;
    import them as <name>_pb2 and <name>_pb2_grpc."""
    out = tempfile.mkdtemp(prefix="ovgs-stubs-")
    atexit.register(shutil.rmtree, out, True)
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = os.environ.get("GRPC_PYTHON_PLUGIN") or shutil.which("grpc_python_plugin")
    subprocess.run([protoc, "-I", os.path.dirname(proto), "--python_out=" + out,
                    "--grpc_python_out=" + out, "--plugin=protoc-gen-grpc_python=" + plugin,
                    proto], check=True)
    sys.path.insert(0, out)


generate_stubs(PROTO)
import ovgs_pb2 as pb  # noqa: E402
import ovgs_pb2_grpc as pb_grpc  # noqa: E402
SERVICE = "ovgs.v1.OwnershipVoucherService"


class Principal:
    """An organization's principal as the tests hold it: ids and one token secret."""

    def __init__(self, org_id, username, token, principal_id=None):
        self.org_id = org_id
        self.username = username
        self.token = token
        self.principal_id = principal_id


class _CookieAuth(grpc.AuthMetadataPlugin):
    def __init__(self, token):
        self._token = token

    def __call__(self, context, callback):
        callback((("cookie", "theme=dark; access_token=%s" % self._token),), None)


class World:
    """One dev-init state and the masad serving it (REST and gRPC on port 0)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="masa-grpc-test-")
        self.state = os.path.join(self.root, "state")
        self.masactl("dev-init", "--state", self.state)
        self.tls_ca = os.path.join(self.state, "tls-ca.pem")
        self.trust_anchor = os.path.join(self.state, "trust-anchor.pem")
        with open(self.tls_ca, "rb") as f:
            self._ca_pem = f.read()
        self._orgs = {}
        self._channels = []  # closed by close(): grpcio may crash at exit on open ones
        self.masad = None
        self.start()

    # --- masad -------------------------------------------------------------------------
    def start(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MASA_HSM_PIN", "MASA_PKCS11_MODULE")}
        self._log = open(os.path.join(self.state, "masad.log"), "ab")
        self.masad = subprocess.Popen(
            [MASAD, "--config", os.path.join(self.state, "masad.toml"), "--listen",
             "127.0.0.1:0", "--metrics-listen", "", "--grpc-listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self._log, env=env)
        self.grpc_port = self.rest_port = None
        # The ready lines: the gRPC line comes before the REST "listening" line.
        for raw in self.masad.stdout:
            line = raw.decode()
            m = re.match(r"masad grpc on 127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.grpc_port = int(m.group(1))
            m = re.match(r"masad listening on https://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.rest_port = int(m.group(1))
                break
        if self.rest_port is None or self.grpc_port is None:
            self.masad.wait()
            raise RuntimeError("masad did not get ready (exit %s): %s"
                               % (self.masad.returncode, self.log()))

    def stop(self):
        """SIGTERM, which drains; masad must exit 0."""
        if self.masad is None:
            return 0
        self.masad.send_signal(signal.SIGTERM)
        code = self.masad.wait(timeout=60)
        self.masad.stdout.close()
        self._log.close()
        self.masad = None
        return code

    def log(self):
        with open(os.path.join(self.state, "masad.log"), errors="replace") as f:
            return f.read()

    def close(self):
        for channel in self._channels:
            channel.close()
        self._channels = []
        code = self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        return code

    # --- tools ---------------------------------------------------------------------------
    def masactl(self, *args, check=True):
        r = subprocess.run([MASACTL] + list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError("masactl %s: exit %d\n%s%s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def openssl(self, *args):
        return subprocess.run([OPENSSL] + list(args), capture_output=True)

    def rest(self, method, path, token, body=None):
        """(HTTP status, parsed JSON or None) of one REST call over TLS (the dev CA)."""
        ctx = ssl.create_default_context(cafile=self.tls_ca)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("https://localhost:%d%s" % (self.rest_port, path),
                                     data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, None

    # --- organizations and principals -----------------------------------------------------
    def org(self, name):
        """The admin of organization `name` ("org-<name>"), created on first use with
        masactl (admin username admin@<name>.example)."""
        if name not in self._orgs:
            token_file = os.path.join(self.root, name + "-admin.token")
            self.masactl("org", "create", "--state", self.state, "--name", name, "--admin",
                         "admin@%s.example" % name, "--token-out", token_file)
            with open(token_file) as f:
                token = f.read().strip()
            self._orgs[name] = Principal("org-" + name, "admin@%s.example" % name, token)
        return self._orgs[name]

    def token_for(self, admin, principal_id=None):
        """(token_id, secret) of a new token of `principal_id` (default: the admin itself),
        minted through the REST API by `admin`."""
        body = {} if principal_id is None else {"principal_id": principal_id}
        status, out = self.rest("POST", "/tokens", admin.token, body)
        if status != 201:
            raise AssertionError("POST /tokens: %s %s" % (status, out))
        return out["token"]["token_id"], out["token"]["secret"]

    def user(self, admin, username, kind="user", token=True):
        """A new principal of admin's organization, created through the REST API (POST
        /users, or POST /service-accounts for kind="service-account"), with a token of its
        own unless token=False. It holds no role until one is given."""
        path, body = (("/users", {"username": username}) if kind == "user" else
                      ("/service-accounts", {"name": username}))
        status, out = self.rest("POST", path, admin.token, body)
        if status != 201:
            raise AssertionError("POST %s: %s %s" % (path, status, out))
        p = Principal(admin.org_id, username, None, out["principal"]["principal_id"])
        if token:
            _, p.token = self.token_for(admin, p.principal_id)
        return p

    def assign_serials(self, org_id, serials, extra=()):
        self.masactl("serials", "assign", "--state", self.state, "--org", org_id, "--serials",
                     ",".join(serials), *extra)

    # --- gRPC ----------------------------------------------------------------------------
    def channel(self, call_credentials=None):
        creds = grpc.ssl_channel_credentials(root_certificates=self._ca_pem)
        if call_credentials is not None:
            creds = grpc.composite_channel_credentials(creds, call_credentials)
        return self.track(grpc.secure_channel("localhost:%d" % self.grpc_port, creds))

    def track(self, channel):
        """`channel`, to be closed with the World (a test's own channels go through here:
        grpcio can crash at interpreter exit while a channel is still open)."""
        self._channels.append(channel)
        return channel

    def stub(self, token=None, via="bearer"):
        """An OwnershipVoucherService stub whose calls carry `token` as
        "authorization: Bearer" (via="bearer") or in a cookie header (via="cookie")."""
        call = None
        if token is not None and via == "bearer":
            call = grpc.access_token_call_credentials(token)
        elif token is not None:
            call = grpc.metadata_call_credentials(_CookieAuth(token))
        return pb_grpc.OwnershipVoucherServiceStub(self.channel(call))


class OvgsTestCase(unittest.TestCase):
    """One World (one masad) per test class."""

    world = None

    @classmethod
    def setUpClass(cls):
        cls.world = World()

    @classmethod
    def tearDownClass(cls):
        if cls.world is not None:
            log = cls.world.log()
            code = cls.world.close()
            if code != 0:
                raise AssertionError("masad exited %s on SIGTERM:\n%s" % (code, log))

    @contextlib.contextmanager
    def assertRpcError(self, code, details=None):
        """The block raises grpc.RpcError with `code` (and `details` in its message)."""
        with self.assertRaises(grpc.RpcError) as caught:
            yield caught
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        if details is not None:
            self.assertIn(details, caught.exception.details())


def main():
    """Runs the file's tests and exits with their verdict without finalizing the interpreter.
    grpcio 1.51 (Debian 12) can crash at interpreter shutdown: a metadata plugin's call
    credentials (the cookie form) take the GIL from a C-core thread while Python tears it
    down (fixed upstream by grpc/grpc#37762). The verdict is known by then, so the atexit
    handlers run here and the process leaves with os._exit."""
    result = unittest.main(verbosity=2, exit=False).result
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if result.wasSuccessful() else 1)
