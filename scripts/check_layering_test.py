#!/usr/bin/python3
"""Shows that check_layering.py catches what it is for: on a temporary copy of the sources,
clean it passes; with one planted include per rule it fails and names each file, line and
rule; includes the layering allows stay unreported.

Usage: check_layering_test.py [ROOT]   (ROOT: the repository, default: this script's parent's
parent). Exit status 0 when every expectation holds; each failed one is printed.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_layering.py")

# (file, include line planted at its top, the rule expected to report it, or None if allowed).
# Planted in this order, each above the ones before it in the same file.
PLANTS = [
    ("store/store.cc", '#include "service/service.h"', "layer"),
    ("hsm/pkcs11.cc", '#include "signer/certificate.h"', "layer"),
    ("queue/work_queue.cc", '#include "store/store.h"', "layer"),
    ("common/json.cc", '#include "hsm/pkcs11.h"', "layer"),
    ("service/tokens.cc", '#include "api/rest_api.h"', "layer"),
    ("api/rest_api.cc", '#include "store/internal/lmdb.h"', "internal"),
    ("hsm/provider/provider.cc", '#include "hsm/internal/session_pool.h"',
     "internal"),
    ("service/service.cc", '#include "hsm/testing/softhsm_token.h"',
     "testing"),
    ("tools/masad.cc", '#include "store/testing/store_fixture.h"', "testing"),
    ("store/fuzz/x_fuzz.cc", '#include "signer/cms.h"', "layer"),
    ("queue/work_queue.h", "#include <lmdb.h>", "thirdparty"),
    ("signer/cms.cc", "#include <p11-kit/pkcs11.h>", "thirdparty"),
    ("hsm/provider/provider.cc", "#include <p11-kit/uri.h>",
     "thirdparty"),
    ("store/store.h", "#include <event2/event.h>", "thirdparty"),
    ("api/rest_api.h", "#include <lmdb.h>", "thirdparty"),
    ("service/service.cc", "#include <google/protobuf/message.h>", "thirdparty"),
    ("api/rest_api.cc", "#include <grpcpp/grpcpp.h>", "thirdparty"),
    ("service/tokens.cc", '#include "api/grpc/grpc_server.h"', "layer"),
    ("tools/masad.cc", '#include "api/grpc/internal/status.h"', "internal"),
    # Allowed: downwards, a folder's own internal/ and testing/ from its tests, tests/ and
    # tools/ above everything, the owners of the C libraries.
    ("service/tokens.cc", '#include "store/store.h"', None),
    ("api/rest_api.cc", '#include "queue/http_server.h"', None),
    ("signer/cms.cc", '#include "hsm/provider/provider.h"', None),
    ("store/store_test.cc", '#include "store/internal/lmdb.h"', None),
    ("service/tokens_test.cc", '#include "hsm/testing/softhsm_token.h"', None),
    ("store/fuzz/x_fuzz.cc", '#include "store/testing/audit_keys.h"', None),
    ("tests/masad_e2e_test.cc", '#include "service/service.h"', None),
    ("tools/masad.cc", '#include "api/rest_api.h"', None),
    ("store/store.cc", "#include <lmdb.h>", None),
    ("queue/work_queue.cc", "#include <event2/event.h>", None),
    ("api/grpc/grpc_server.cc", "#include <grpcpp/grpcpp.h>", None),
    ("api/grpc/grpc_server.cc", '#include "service/service.h"', None),
    ("tools/masad.cc", '#include "api/grpc/grpc_server.h"', None),
    ("bench/load_bench.cc", "#include <grpcpp/grpcpp.h>", None),
]


def run(root):
    r = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def copy_sources(src, dst):
    """The folders' .c/.cc/.h files only (no build output, no .git)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        dirnames[:] = [d for d in dirnames
                       if not d.startswith(".") and not (rel == "." and d.startswith("build"))]
        for name in filenames:
            if name.endswith((".c", ".cc", ".h")):
                os.makedirs(os.path.join(dst, rel), exist_ok=True)
                shutil.copy(os.path.join(dirpath, name), os.path.join(dst, rel, name))


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(HERE)
    failures = []
    with tempfile.TemporaryDirectory(prefix="masa-layering-") as tmp:
        copy_sources(root, tmp)
        code, out = run(tmp)
        if code != 0:
            failures.append("the clean copy fails (exit %d):\n%s" % (code, out))
        for path, line, _ in PLANTS:
            full = os.path.join(tmp, path)
            if not os.path.exists(full):  # a planted file that moved away: plant a new one
                os.makedirs(os.path.dirname(full), exist_ok=True)
                open(full, "w").close()
            with open(full) as f:
                text = f.read()
            with open(full, "w") as f:
                f.write(line + "\n" + text)
        code, out = run(tmp)
        print(out)
        if code != 1:
            failures.append("with planted violations the exit status is %d, not 1" % code)
        findings = [l for l in out.splitlines() if ": [" in l]
        for i, (path, line, rule) in enumerate(PLANTS):
            lineno = 1 + sum(1 for p in PLANTS[i + 1:] if p[0] == path)
            header = line.split()[1].strip('"<>')
            reported = [f for f in findings
                        if f.startswith("%s:%d: [" % (path, lineno)) and header in f]
            if rule is None and reported:
                failures.append("allowed %s in %s reported: %s" % (line, path, reported[0]))
            elif rule is not None and not any(
                    f.startswith("%s:%d: [%s]" % (path, lineno, rule)) for f in reported):
                failures.append("%s at %s:%d not reported as [%s]" % (line, path, lineno, rule))
        expected = sum(1 for p in PLANTS if p[2])
        if len(findings) != expected:
            failures.append("%d findings for %d planted violations" % (len(findings), expected))
    for f in failures:
        print("FAIL:", f)
    print("check_layering_test: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
