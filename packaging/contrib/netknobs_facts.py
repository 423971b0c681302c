#!/usr/bin/python3
"""netknobs facts for configuration management: one file, three uses.

Ansible   copy to /etc/ansible/facts.d/netknobs.fact (mode 0755):
          prints the facts object -> ansible_local.netknobs
Facter    copy to /etc/puppetlabs/facter/facts.d/netknobs.py (mode 0755),
          or /etc/facter/facts.d/: prints {"netknobs": {...}} -> $facts['netknobs']
Salt      copy to the salt://_grains/ directory as netknobs.py:
          the grain function netknobs() -> grains['netknobs']

Run as a program, it prints the object alone when its name ends in .fact
(Ansible's convention) and wrapped as {"netknobs": ...} otherwise (what
Facter expects of an executable external fact); --bare and --wrap choose
explicitly.  It always prints valid JSON and exits 0: a fact must not break
the run that gathers it; failures show as "status": "error".

The object:
  version       netknobs version
  status        ok | warning | critical | error   (netknobs audit's exit status)
  exit_status   0, 1, 2 or 3
  verdict       "0 critical, 2 warnings, 32 passed, 4 not applicable"
  summary       counts per severity and state (the audit JSON's summary)
  findings      [{rule, severity, subject}] of the failed rules
  recommendations  {sysctl key: recommended value} not yet satisfied
  fix_pending   true when 'netknobs fix --check' says the sysctl.d drop-in
                would change, false when it is up to date, null when unknown
  error         what went wrong (status "error" only)

Environment: NETKNOBS (the binary; default: netknobs on PATH, /usr/sbin,
/usr/local/sbin), NETKNOBS_OPTIONS (extra options for audit and fix,
e.g. "--profile web-frontend").
"""

import json
import os
import shlex
import shutil
import subprocess
import sys

_STATUS = {0: "ok", 1: "warning", 2: "critical", 3: "error"}
_TIMEOUT = 120


def _binary():
    env = os.environ.get("NETKNOBS")
    if env:
        return env
    found = shutil.which("netknobs")
    if found:
        return found
    for d in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        p = os.path.join(d, "netknobs")
        if os.access(p, os.X_OK):
            return p
    return None


def _run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=_TIMEOUT, check=False)


def _error(msg, **extra):
    out = {"status": "error", "exit_status": 3, "error": msg}
    out.update(extra)
    return out


def _collect():
    nk = _binary()
    if not nk:
        return _error("netknobs not found (set NETKNOBS or PATH)")
    opts = shlex.split(os.environ.get("NETKNOBS_OPTIONS", ""))
    try:
        audit = _run([nk, "audit", "--format", "json"] + opts)
    except (OSError, subprocess.SubprocessError) as e:
        return _error("netknobs audit: %s" % e)
    try:
        doc = json.loads(audit.stdout.decode("utf-8", "replace"))
    except ValueError:
        err = audit.stderr.decode("utf-8", "replace").strip().splitlines()
        return _error("netknobs audit (exit %d): %s" % (audit.returncode, err[0] if err else "no JSON output"))
    rc = audit.returncode
    out = {
        "version": doc.get("generator", {}).get("version"),
        "status": _STATUS.get(rc, "error"),
        "exit_status": rc,
        "verdict": doc.get("verdict"),
        "summary": doc.get("summary", {}),
        "findings": [{"rule": f.get("rule"), "severity": f.get("severity"), "subject": f.get("subject")}
                     for f in doc.get("findings", [])],
        "recommendations": {r.get("key"): r.get("value") for r in doc.get("recommendations", [])
                            if r.get("key") and not r.get("satisfied")},
        "fix_pending": None,
    }
    if rc == 3:
        err = audit.stderr.decode("utf-8", "replace").strip().splitlines()
        out["error"] = err[0] if err else "netknobs audit exited 3"
    try:
        if _run([nk, "fix", "--help"]).returncode == 0:
            fix = _run([nk, "fix", "--check"] + opts)
            out["fix_pending"] = {0: False, 1: True}.get(fix.returncode)
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def netknobs():
    """Salt grain: grains['netknobs']."""
    return {"netknobs": _collect()}


def _main(argv):
    name = os.path.basename(argv[0])
    bare = name.endswith(".fact")
    if "--bare" in argv[1:]:
        bare = True
    if "--wrap" in argv[1:]:
        bare = False
    try:
        facts = _collect()
    except Exception as e:  # a fact never fails the run gathering it
        facts = _error("%s: %s" % (type(e).__name__, e))
    json.dump(facts if bare else {"netknobs": facts}, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
