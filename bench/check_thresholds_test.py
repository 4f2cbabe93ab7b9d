#!/usr/bin/python3
"""Shows that check_thresholds.py fails CI's benchmark pass when it should, on samples of the
three results files (bench/testdata/, in the format each benchmark writes) and the real
bench/thresholds.json: the samples pass and every check is printed; one ratio pushed out of
its bound fails, names that ratio and gives its reason; a figure taken out of a file, or a
whole file missing, fails as MISSING; a malformed thresholds file is refused.

Usage: check_thresholds_test.py   Exit status 0 when every expectation holds; each failed one
is printed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_thresholds.py")
THRESHOLDS = os.path.join(HERE, "thresholds.json")
SAMPLES = os.path.join(HERE, "testdata")

failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAILED: {what}")


def check(thresholds, results):
    p = subprocess.run([sys.executable, CHECKER, thresholds, results],
                       capture_output=True, text=True, check=False)
    return p.returncode, p.stdout + p.stderr


def edit(results, file, change):
    path = os.path.join(results, file)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    change(doc)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def fresh_results(tmp, name):
    results = os.path.join(tmp, name)
    shutil.copytree(SAMPLES, results)
    return results


def main():
    with open(THRESHOLDS, encoding="utf-8") as f:
        checks = json.load(f)["checks"]
    by_name = {c["name"]: c for c in checks}
    e2e = next(c for c in checks if c.get("value") == ["ratios", "end_to_end_over_csign"])
    outside = next(c for c in checks
                   if c.get("value") == ["ratios", "outside_over_masad_signature_cpu"])
    voucher = "signing_bench voucher sign / raw C_Sign (1 thread)"
    expect(voucher in by_name, f"thresholds.json has no check named {voucher!r}")

    with tempfile.TemporaryDirectory() as tmp:
        # The samples pass, each check printed once with its bound.
        code, out = check(THRESHOLDS, fresh_results(tmp, "pass"))
        expect(code == 0, f"the samples pass (exit {code}):\n{out}")
        for c in checks:
            expect(f"PASS    {c['name']} = " in out, f"PASS line for {c['name']!r}:\n{out}")

        # End to end under its min: exit 1, the ratio named with its value, bound and reason.
        results = fresh_results(tmp, "slow")
        edit(results, "load_bench.json",
             lambda d: d["ratios"].update(end_to_end_over_csign=e2e["min"] / 2))
        code, out = check(THRESHOLDS, results)
        expect(code == 1, f"end to end at half its min fails (exit {code}):\n{out}")
        expect(f"FAIL    {e2e['name']} = {e2e['min'] / 2:.4g}  (bound >= {e2e['min']:g}): "
               f"{e2e['reason']}" in out, f"the FAIL line names the ratio:\n{out}")
        expect(out.count("FAIL ") == 1, f"only that check fails:\n{out}")

        # A max bound, and a ratio of two figures of one file: the voucher's sign rate.
        results = fresh_results(tmp, "costly")
        edit(results, "load_bench.json",
             lambda d: d["ratios"].update(outside_over_masad_signature_cpu=outside["max"] * 2))

        def slow_voucher(d):
            for b in d["benchmarks"]:
                if b["name"].startswith("BM_Voucher/"):
                    b["items_per_second"] /= 100
        edit(results, "signing_bench.json", slow_voucher)
        code, out = check(THRESHOLDS, results)
        expect(code == 1, f"two failures exit 1 (exit {code}):\n{out}")
        expect(f"FAIL    {outside['name']} = " in out, f"the max bound fails:\n{out}")
        expect(f"FAIL    {voucher} = " in out, f"the voucher ratio fails:\n{out}")

        # A figure not measured (absent, as load_bench leaves it) fails as MISSING.
        results = fresh_results(tmp, "absent")
        edit(results, "load_bench.json", lambda d: d["ratios"].pop("end_to_end_over_csign"))
        code, out = check(THRESHOLDS, results)
        expect(code == 1, f"an absent figure fails (exit {code}):\n{out}")
        expect(f'MISSING {e2e["name"]}' in out and 'no "end_to_end_over_csign"' in out,
               f"the MISSING line names the figure:\n{out}")

        # A results file not written: each of its checks MISSING.
        results = fresh_results(tmp, "nofile")
        os.remove(os.path.join(results, "store_bench.json"))
        code, out = check(THRESHOLDS, results)
        store_checks = [c for c in checks if c["file"] == "store_bench.json"]
        expect(code == 1 and out.count("MISSING ") == len(store_checks),
               f"a missing file fails each of its checks (exit {code}):\n{out}")

        # A check without a bound or a reason is refused before anything is read.
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w", encoding="utf-8") as f:
            json.dump({"checks": [{"name": "x", "file": "load_bench.json",
                                   "value": ["ratios", "end_to_end_over_csign"],
                                   "reason": "r"}]}, f)
        code, out = check(bad, results)
        expect(code == 2 and "needs a numeric min or max" in out,
               f"a check without a bound is refused (exit {code}):\n{out}")

    print(f"{len(failures)} expectation(s) failed" if failures else "all expectations held")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
