#!/usr/bin/python3
"""Fails when a source file includes across the layering of DESIGN.md "Layout".

Usage: check_layering.py [ROOT]   (ROOT: the repository, default: this script's parent's parent)

Scans every .c/.cc/.h file under ROOT (build*/ and hidden folders skipped) for #include lines
and checks four rules; each finding prints as "FILE:LINE: [RULE] message" and the exit status
is 1 if there was any, else 0.

  layer     a folder includes only its own headers and those of folders below it:
            common < hsm < hsm/provider < signer; common < store; common < queue;
            signer, store, queue < service < api, api/grpc; tools, bench and tests include
            anything.
  internal  X/internal/ headers are included only from folder X itself (its own library,
            tests and testing/ helpers), not from a folder above or beside it.
  testing   X/testing/ headers (fixtures, fakes, fault modules) are included only from test
            code: *_test.cc files, tests/, bench/, fuzz targets (X/fuzz/) and other testing/
            folders.
  thirdparty  one folder owns each C library: lmdb.h only in store/, libpq only in store/,
            PKCS#11 headers only in hsm/ (not hsm/provider/, which goes through masa::hsm),
            libevent (event2/) only in queue/, gRPC and protobuf only in api/grpc/ (and
            bench/, whose load generator is a gRPC client): service/ stays free of protobuf.

Includes are resolved from ROOT ("store/store.h"), as the build's include path does; an
include whose first folder is none of ours is a third-party header.
"""

import os
import re
import sys

# Each folder (library) and the folders directly below it; "below" is transitive.
DIRECT = {
    "common": [],
    "hsm": ["common"],
    "hsm/provider": ["hsm"],
    "signer": ["hsm/provider"],
    "store": ["common"],
    "queue": ["common"],
    "service": ["signer", "store", "queue"],
    "api": ["service", "queue"],
    "api/grpc": ["service", "queue"],
}
ANYTHING = ["tools", "bench", "tests"]
FOLDERS = sorted(list(DIRECT) + ANYTHING, key=len, reverse=True)  # longest prefix first

# (header pattern, the folders allowed to include it, what it is)
THIRD_PARTY = [
    (re.compile(r"^lmdb\.h$"), ("store",), "LMDB (lmdb.h)"),
    (re.compile(r"^(libpq-fe\.h|libpq/|postgresql/)"), ("store",), "libpq"),
    (re.compile(r"(^|/)(pkcs11[^/]*\.h$|p11-kit/)"), ("hsm",), "PKCS#11 headers"),
    (re.compile(r"^(event2/|event\.h$|evhttp\.h$|evdns\.h$|evutil\.h$)"), ("queue",),
     "libevent"),
    (re.compile(r"^(grpcpp/|grpc\+\+/|grpc/|google/protobuf/)"), ("api/grpc", "bench"),
     "gRPC and protobuf"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
SOURCE = re.compile(r"\.(c|cc|cpp|h|hpp|inc)$")


def below(folder):
    """The folders `folder` may include: itself and everything transitively below it."""
    if folder in ANYTHING:
        return set(FOLDERS)
    seen, todo = set(), [folder]
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(DIRECT[f])
    return seen


def folder_of(path):
    """(folder, kind) of a repository-relative path; kind is internal, testing, fuzz or public.
    (None, None) for a path outside our folders."""
    for f in FOLDERS:
        if path.startswith(f + "/"):
            rest = path[len(f) + 1:]
            first = rest.split("/", 1)[0] if "/" in rest else ""
            kind = first if first in ("internal", "testing", "fuzz") else "public"
            return f, kind
    return None, None


def is_test_code(path):
    folder, kind = folder_of(path)
    base = os.path.basename(path)
    return (folder in ("tests", "bench") or kind in ("testing", "fuzz") or
            re.search(r"_test\.(cc|cpp|c|h)$", base) is not None)


def check_file(root, path):
    findings = []
    folder, _ = folder_of(path)
    if folder is None:
        return findings
    allowed = below(folder)
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    for n, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        header = m.group(2)
        where = "%s:%d" % (path, n)
        target, kind = folder_of(header)
        if target is None:
            for pattern, owners, what in THIRD_PARTY:
                if pattern.search(header) and folder not in owners:
                    findings.append("%s: [thirdparty] %s/ includes %s (%s), which only %s may"
                                    % (where, folder, header, what,
                                       " and ".join(o + "/" for o in owners)))
            continue
        if target not in allowed:
            findings.append("%s: [layer] %s/ includes %s from %s/, which is not below it"
                            % (where, folder, header, target))
        elif kind == "internal" and target != folder:
            findings.append("%s: [internal] %s is internal to %s/ and included from %s/"
                            % (where, header, target, folder))
        if kind == "testing" and not is_test_code(path):
            findings.append("%s: [testing] %s is test code, included from %s, which is not"
                            % (where, header, path))
    return findings


def sources(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and
                             not (rel == "." and d.startswith("build")))
        for name in sorted(filenames):
            if SOURCE.search(name):
                yield os.path.normpath(os.path.join(rel, name)).replace(os.sep, "/")


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    findings, files = [], 0
    for path in sources(root):
        files += 1
        findings.extend(check_file(root, path))
    for f in findings:
        print(f)
    if files == 0:
        print("check_layering: no source files under %s" % root)
        return 2
    print("check_layering: %d files, %d findings" % (files, len(findings)))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
