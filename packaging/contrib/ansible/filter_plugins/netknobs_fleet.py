# Filters of the netknobs fleet playbook (netknobs-fleet.yml), loaded by
# ansible-core from the filter_plugins directory next to the playbook.
# Python 3 standard library only.
#
#   netknobs_fleet_summary(hosts, hostvars, var='netknobs_audit')
#       the fleet summary (a dict, fleet_summary_version 1) of the
#       registered `netknobs audit --format json` results of hosts
#   netknobs_fleet_text(summary)
#       the same summary as text for a person
"""netknobs fleet summary filters."""

import datetime
import json
import re

SEVERITIES = ("critical", "warning", "notice", "info")
# hosts by worst severity: a host that could not be audited right after
# the critical ones (nothing is known of it)
WORST_ORDER = ("critical", "unknown", "warning", "notice", "info", "ok")
SHARED_TEXT_MAX = 10

_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe(s):
    """Text from the hosts, control characters made visible (\\xNN)."""
    return _CTRL.sub(lambda m: "\\x%02x" % ord(m.group(0)), str(s))


def _get(mapping, key, default=None):
    try:
        v = mapping.get(key, default)
    except Exception:  # an undefined variable of an unreachable host
        return default
    return default if v is None else v


def _first_line(s):
    s = (s or "").strip()
    return s.splitlines()[-1] if s else ""


def _units(doc):
    """[(netns name or None, audit document)] of one host's output: an audit
    document, or the document of every namespace (--all-netns)."""
    if isinstance(doc.get("namespaces"), list):
        out = []
        for n in doc["namespaces"]:
            if isinstance(n, dict) and isinstance(n.get("audit"), dict):
                name = (n.get("netns") or {}).get("name") or "?"
                out.append((name, n["audit"]))
        return out
    return [(None, doc)]


def _host(name, result):
    """One host's entry from its registered command result."""
    h = {"host": name, "worst": "unknown", "exit_status": None, "verdict": None, "summary": None,
         "error": None, "findings": [], "recommendations": []}
    if not result or not isinstance(result, dict) or "rc" not in result:
        h["error"] = "no audit: the host was unreachable or the task failed"
        return h
    h["exit_status"] = result.get("rc")
    try:
        doc = json.loads(result.get("stdout") or "")
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        why = _first_line(result.get("stderr")) or _first_line(result.get("msg")) or "no JSON document"
        h["error"] = "netknobs audit exited %s: %s" % (result.get("rc"), why)
        return h
    units = _units(doc)
    summary = {k: 0 for k in SEVERITIES + ("passed", "not_applicable", "waived", "disabled", "errors")}
    core = []
    for netns, audit in units:
        for k, v in (audit.get("summary") or {}).items():
            if isinstance(v, int) and k in summary:
                summary[k] += v
        cu = audit.get("core_unavailable")
        if isinstance(cu, dict) and cu:
            parts = ", ".join(sorted(cu))
            core.append("%s (%s)" % (netns, parts) if netns is not None else parts)
        for f in audit.get("findings") or []:
            e = {"rule": f.get("rule"), "severity": f.get("severity"), "subject": f.get("subject"),
                 "title": f.get("title")}
            if netns is not None:
                e["netns"] = netns
            h["findings"].append(e)
        for r in audit.get("recommendations") or []:
            e = {k: r.get(k) for k in ("key", "value", "mode", "current", "sysctl_d", "rules")}
            if netns is not None:
                e["netns"] = netns
            h["recommendations"].append(e)
    h["summary"] = summary
    if len(units) == 1 and units[0][0] is None:
        h["verdict"] = units[0][1].get("verdict")
    else:
        h["verdict"] = "%s: %s" % (_plural(len(units), "network namespace"),
                                   ", ".join("%d %s" % (summary[s], s) for s in SEVERITIES))
    if core:
        h["error"] = "could not audit: core facts unreadable: %s" % "; ".join(core)
        if len(core) == len(units):
            return h
        # --all-netns: the other namespaces were judged
    h["worst"] = next((s for s in SEVERITIES if summary[s] > 0), "ok")
    h["findings"].sort(key=lambda f: (SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9,
                                      f.get("netns") or "", f["rule"] or "", f["subject"] or ""))
    return h


def netknobs_fleet_summary(hosts, hostvars, var="netknobs_audit"):
    per = [_host(h, _get(_get(hostvars, h, {}), var)) for h in hosts]
    per.sort(key=lambda h: (WORST_ORDER.index(h["worst"]), h["host"]))
    by_worst = {w: [h["host"] for h in per if h["worst"] == w] for w in WORST_ORDER}
    # the rules that fail on most hosts (each host counted once per rule)
    shared = {}
    for h in per:
        for f in h["findings"]:
            s = shared.setdefault(f["rule"], {"rule": f["rule"], "severity": f["severity"], "title": f["title"],
                                              "hosts": []})
            if SEVERITIES.index(f["severity"]) < SEVERITIES.index(s["severity"]):
                s["severity"] = f["severity"]
            if h["host"] not in s["hosts"]:
                s["hosts"].append(h["host"])
    shared_list = sorted(shared.values(), key=lambda s: (-len(s["hosts"]), SEVERITIES.index(s["severity"]),
                                                         s["rule"]))
    for s in shared_list:
        s["count"] = len(s["hosts"])
    return {
        "fleet_summary_version": 1,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hosts": len(per),
        "by_worst": by_worst,
        "shared_findings": shared_list,
        "per_host": per,
    }


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _what(h):
    """A host's verdict, or why there is none."""
    if h["worst"] == "unknown" or not h["verdict"]:
        return h["error"] or ""
    return h["verdict"] + ("; " + h["error"] if h["error"] else "")


def netknobs_fleet_text(summary):
    per = summary["per_host"]
    n = summary["hosts"]
    counts = ", ".join("%d %s" % (len(summary["by_worst"][w]), "could not be audited" if w == "unknown" else w)
                       for w in WORST_ORDER if summary["by_worst"][w])
    out = ["netknobs fleet summary: %s (%s)" % (_plural(n, "host"), counts or "none"), ""]
    width = max([len(_safe(h["host"])) for h in per] + [4])
    out.append("Hosts by worst severity:")
    for h in per:
        what = _what(h)
        out.append("  %-8s  %-*s  %s" % (h["worst"], width, _safe(h["host"]), _safe(what)))
    out.append("")
    shared = [s for s in summary["shared_findings"] if s["count"] > 1] or summary["shared_findings"][:1]
    out.append("Findings most hosts share:")
    if not shared:
        out.append("  none")
    for s in shared[:SHARED_TEXT_MAX]:
        out.append("  %d of %d  %-8s  %s: %s" % (s["count"], n, s["severity"], _safe(s["rule"]), _safe(s["title"])))
        out.append("            on %s" % ", ".join(_safe(h) for h in s["hosts"]))
    if len(shared) > SHARED_TEXT_MAX:
        out.append("  and %d more (fleet.json)" % (len(shared) - SHARED_TEXT_MAX))
    for h in per:
        out.append("")
        out.append("%s (%s): %s" % (_safe(h["host"]), h["worst"], _safe(_what(h))))
        for f in h["findings"]:
            where = " [%s]" % _safe(f["netns"]) if "netns" in f else ""
            out.append("  %-8s  %s  %s%s: %s" % (f["severity"], _safe(f["rule"]), _safe(f["subject"]), where,
                                               _safe(f["title"])))
        if h["recommendations"]:
            out.append("  recommended (sysctl.d):")
            for r in h["recommendations"]:
                where = "   # %s" % _safe(r["netns"]) if "netns" in r else ""
                out.append("    %s%s" % (_safe(r["sysctl_d"] or "%s = %s" % (r["key"], r["value"])), where))
    return "\n".join(out) + "\n"


class FilterModule:
    """netknobs fleet summary filters."""

    def filters(self):
        return {
            "netknobs_fleet_summary": netknobs_fleet_summary,
            "netknobs_fleet_text": netknobs_fleet_text,
        }
