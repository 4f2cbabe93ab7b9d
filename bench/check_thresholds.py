#!/usr/bin/python3
"""Checks the figures of one benchmark pass against the bounds of bench/thresholds.json.

Usage: check_thresholds.py THRESHOLDS RESULTS_DIR

THRESHOLDS is a JSON object whose "checks" list holds one object per figure:
  name         what is printed (unique)
  file         the results file under RESULTS_DIR it is read from (load_bench.json, ...)
  value        a path to one number in that file; or, for a ratio of two numbers in the SAME
  numerator,   file (so of the same run), a path to each: the figure is numerator/denominator
  denominator
  min / max    the bound(s); at least one
  reason       one line: why this figure, why this bound
A path is a list of steps from the file's top: a string is an object key, an integer a list
index, and an object selects the one element of a list whose fields equal all of its own,
e.g. ["benchmarks", {"name": "BM_Voucher/real_time/threads:1_mean"}, "items_per_second"].

Prints one line per check (PASS, FAIL or MISSING, the figure and its bound, the reason of a
failure) and exits 1 when any check failed or a figure was missing (not measured, a file not
written, a path matching nothing or several elements, a number that is not finite or a zero
denominator), 2 when THRESHOLDS itself is malformed, else 0.
"""

import json
import math
import os
import sys


class Missing(Exception):
    """A figure the thresholds name is not in the results."""


def follow(doc, path, where):
    """The number at `path` in `doc`; raises Missing saying which step found nothing."""
    node = doc
    for step in path:
        if isinstance(step, dict):
            if not isinstance(node, list):
                raise Missing(f"{where}: no list at {json.dumps(step)}")
            hits = [e for e in node if isinstance(e, dict) and
                    all(e.get(k) == v for k, v in step.items())]
            if len(hits) != 1:
                raise Missing(f"{where}: {len(hits)} elements match {json.dumps(step)}")
            node = hits[0]
        elif isinstance(step, int) and not isinstance(step, bool):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise Missing(f"{where}: no element {step}")
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                raise Missing(f"{where}: no {json.dumps(step)}")
            node = node[step]
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        raise Missing(f"{where}: {json.dumps(node)} is not a number")
    return float(node)


def load_checks(thresholds_path):
    """The checks of the thresholds file, each validated; exits 2 on a malformed one."""
    def bad(message):
        print(f"{thresholds_path}: {message}", file=sys.stderr)
        sys.exit(2)

    try:
        with open(thresholds_path, encoding="utf-8") as f:
            checks = json.load(f).get("checks")
    except (OSError, ValueError, AttributeError) as e:
        bad(f"cannot read: {e}")
    if not isinstance(checks, list) or not checks:
        bad('no "checks" list')
    names = set()
    for i, c in enumerate(checks):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            bad(f"check {i}: no name")
        label = f'check "{c["name"]}"'
        if c["name"] in names:
            bad(f"{label}: name used twice")
        names.add(c["name"])
        if not isinstance(c.get("file"), str) or os.sep in c["file"]:
            bad(f"{label}: file must be a file name in the results folder")
        paths = [c.get(k) for k in ("value", "numerator", "denominator") if k in c]
        if not ("value" in c) ^ ("numerator" in c and "denominator" in c) or \
                len(paths) not in (1, 2) or not all(isinstance(p, list) and p for p in paths):
            bad(f"{label}: needs a value path, or a numerator and a denominator path")
        bounds = [c[k] for k in ("min", "max") if k in c]
        if not bounds or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                 for b in bounds):
            bad(f"{label}: needs a numeric min or max")
        if not isinstance(c.get("reason"), str) or not c["reason"]:
            bad(f"{label}: needs a reason")
    return checks


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    checks = load_checks(argv[1])
    results_dir = argv[2]
    docs = {}
    failed = 0
    for c in checks:
        name, file = c["name"], c["file"]
        bound = " and ".join(
            f"{'>=' if k == 'min' else '<='} {c[k]:g}" for k in ("min", "max") if k in c)
        try:
            if file not in docs:
                try:
                    with open(os.path.join(results_dir, file), encoding="utf-8") as f:
                        docs[file] = json.load(f)
                except (OSError, ValueError) as e:
                    docs[file] = Missing(f"{file}: {e}")
            if isinstance(docs[file], Missing):
                raise docs[file]
            if "value" in c:
                value = follow(docs[file], c["value"], file)
            else:
                num = follow(docs[file], c["numerator"], file)
                den = follow(docs[file], c["denominator"], file)
                if den == 0:
                    raise Missing(f"{file}: denominator is 0")
                value = num / den
        except Missing as e:
            failed += 1
            print(f"MISSING {name}  (bound {bound}): {e}")
            continue
        ok = ("min" not in c or value >= c["min"]) and ("max" not in c or value <= c["max"])
        if ok:
            print(f"PASS    {name} = {value:.4g}  (bound {bound})")
        else:
            failed += 1
            print(f"FAIL    {name} = {value:.4g}  (bound {bound}): {c['reason']}")
    print(f"{len(checks) - failed} of {len(checks)} benchmark checks passed"
          f" ({os.path.abspath(argv[1])})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
