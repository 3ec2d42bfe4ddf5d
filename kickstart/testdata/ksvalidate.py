#!/usr/bin/env python3
"""Runs pykickstart's ksvalidator on many kickstarts in one process.

usage: ksvalidate.py KSVALIDATOR < list
  KSVALIDATOR is the ksvalidator program or tools/ksvalidator.py (its library
  on PYTHONPATH); each line of the list is "VERSION<TAB>FILE". For each file it
  calls ksvalidator's own main(["-v", VERSION, FILE]) and prints one JSON line:
  {"file": FILE, "version": VERSION, "rc": N, "output": "what it printed"}.
  Importing pykickstart and building each version's handler once, then
  forking a child per file that runs main() with a copy of that pristine
  handler, is what makes the netkick template matrix fast: building a
  handler costs about 0.1 s, a fork about a millisecond.
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import sys
import warnings


def load(path):
    loader = importlib.machinery.SourceFileLoader("netkick_ksvalidator", path)
    spec = importlib.util.spec_from_loader("netkick_ksvalidator", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def check(ksv, version, path):
    """Runs ksvalidator's main on one file; returns (rc, output)."""
    buf = io.StringIO()
    # Fresh warning filters: "always", so a deprecation seen in an earlier
    # file is reported again.
    warnings.resetwarnings()
    warnings.simplefilter("always")
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc, msgs = ksv.main(["-v", version, path])
        except SystemExit as e:
            rc, msgs = (e.code if isinstance(e.code, int) else 1), []
        except Exception as e:  # a crash of the validator is a finding too
            rc, msgs = 1, ["validator crashed: %r" % (e,)]
        for m in msgs:
            print(m)
    return rc, buf.getvalue()


def main():
    ksv = load(sys.argv[1])
    jobs = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line:
            jobs.append(line.split("\t", 1))
    handlers = {}
    for version, _ in jobs:
        if version not in handlers:
            handlers[version] = ksv.makeVersion(version)
    for version, path in jobs:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            ksv.makeVersion = lambda v, _h=handlers[version]: _h
            rc, out = check(ksv, version, path)
            os.write(w, json.dumps({"file": path, "version": version, "rc": rc, "output": out}).encode())
            os._exit(0)
        os.close(w)
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        res = b"".join(chunks).decode()
        if not res:
            res = json.dumps({"file": path, "version": version, "rc": 1,
                              "output": "validator child died with status %d" % status})
        print(res, flush=True)


if __name__ == "__main__":
    main()
