#!/usr/bin/env python3
"""Helpers for the tests of packaging/prometheus and packaging/grafana.

  promql.py names FILE.prom...
      the metric and label names of real netknobs output (text exposition
      format 0.0.4), one "metric NAME" or "label NAME" per line

  promql.py series FILE.prom --instance I [--job J] [--netns NAME]...
                   --steps N [--runs S,S,...] [--until S]
      promtool test rules input_series made from real netknobs output, as a
      textfile collector exposes it: every sample of FILE from the first
      run on (one step is the test's interval), the same value at every
      step, netknobs_audit_timestamp_seconds the time of the latest run
      (step x 300 s); no sample after step --until (the textfile gone).
      --netns keeps, of a run over every namespace (--all-netns), the
      series of these namespaces and those without a netns label.

  promql.py check --metrics FILE.prom [--metrics ...] [--labels NAME,...] FILE...
      every PromQL expression of Prometheus rule files (.yml) and Grafana
      dashboards (.json) names only metrics and labels of the given real
      output (and the labels listed); templates' $labels.NAME and
      {{NAME}} legends too.  Prints what it checked; exit 1 on a stranger.

  promql.py exprs FILE.json
      the dashboard's expressions with Grafana's variables replaced, one
      "REFID<TAB>EXPR" per line (for promtool)
"""

import argparse
import json
import re
import sys

STEP_SECONDS = 300

# ---------------------------------------------------------------- exposition

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _quoted(line, i, where):
    """The raw text of the double-quoted string at line[i] (escapes kept),
    and the index after it."""
    if i >= len(line) or line[i] != '"':
        raise ValueError("%s: expected '\"' at column %d" % (where, i + 1))
    j = i + 1
    while j < len(line) and line[j] != '"':
        j += 2 if line[j] == "\\" else 1
    if j >= len(line):
        raise ValueError("%s: unterminated label value" % where)
    return line[i + 1:j], j + 1


def parse_exposition(text, where):
    """[(name, [(label, raw value)], value)] of every sample; types
    {name: type} from the TYPE lines.  Strict: anything else is an error."""
    samples, types = [], {}
    for n, line in enumerate(text.splitlines(), 1):
        at = "%s:%d" % (where, n)
        if not line:
            continue
        if line.startswith("#"):
            f = line.split(None, 3)
            if len(f) >= 3 and f[1] in ("HELP", "TYPE"):
                if f[1] == "TYPE":
                    types[f[2]] = f[3] if len(f) > 3 else ""
                continue
            raise ValueError("%s: unexpected comment" % at)
        m = _NAME.match(line)
        if not m:
            raise ValueError("%s: no metric name" % at)
        name, i, labels = m.group(0), m.end(), []
        if i < len(line) and line[i] == "{":
            i += 1
            while i < len(line) and line[i] != "}":
                lm = _LABEL.match(line, i)
                if not lm or not line.startswith("=", lm.end()):
                    raise ValueError("%s: bad label at column %d" % (at, i + 1))
                value, i = _quoted(line, lm.end() + 1, at)
                labels.append((lm.group(0), value))
                if line.startswith(",", i):
                    i += 1
            if i >= len(line):
                raise ValueError("%s: no '}'" % at)
        else:
            i -= 1
        rest = line[i + 1:]
        if not re.fullmatch(r" [^ ]+", rest):
            raise ValueError("%s: bad value %r" % (at, rest))
        samples.append((name, labels, rest[1:]))
    return samples, types


def read_exposition(path):
    with open(path, encoding="utf-8") as f:
        return parse_exposition(f.read(), path)

# ---------------------------------------------------------------- series


def _rle(values):
    """promtool's expanding notation: 'V+0xN' is N+1 samples, '_xN' N gaps."""
    out, i = [], 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        n = j - i
        if values[i] is None:
            out.append("_x%d" % n if n > 1 else "_")
        else:
            out.append("%s+0x%d" % (values[i], n - 1) if n > 1 else values[i])
        i = j
    return " ".join(out)


def series(args):
    samples, _ = read_exposition(args.file)
    runs = sorted(int(r) for r in args.runs.split(",")) if args.runs else [0]
    until = args.until if args.until is not None else args.steps
    kept = 0
    for name, labels, value in samples:
        ns = [v for k, v in labels if k == "netns"]
        if args.netns and ns and ns[0] not in args.netns:
            continue
        kept += 1
        lab = ['%s="%s"' % (k, v) for k, v in labels]
        lab.append('instance="%s"' % args.instance)
        if args.job:
            lab.append('job="%s"' % args.job)
        vals = []
        for s in range(args.steps + 1):
            done = [r for r in runs if r <= s]
            if not done or s > until:
                vals.append(None)
            elif name == "netknobs_audit_timestamp_seconds":
                vals.append(str(done[-1] * STEP_SECONDS))
            else:
                vals.append(value)
        sel = "%s{%s}" % (name, ",".join(lab))
        print("      - series: '%s'" % sel.replace("'", "''"))
        print("        values: '%s'" % _rle(vals))
    if not kept:
        raise ValueError("%s: no series kept" % args.file)

# ---------------------------------------------------------------- PromQL

_AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile"}
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _AGGREGATORS | _GROUPING | {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
                                        "start", "end"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<num>0x[0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?:[a-z]+[0-9]*)*)
  | (?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>{}()\[\],@:])
""", re.VERBOSE | re.DOTALL)


def _tokens(expr):
    i, out = 0, []
    while i < len(expr):
        m = _TOKEN.match(expr, i)
        if not m:
            raise ValueError("cannot read the expression at %r" % expr[i:i + 20])
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(0)))
        i = m.end()
    return out


def _unquote(s):
    if s[0] == "`":
        return s[1:-1]
    return re.sub(r"\\(.)", r"\1", s[1:-1])


def promql_names(expr):
    """(metric names, label names) an expression refers to."""
    metrics, labels = set(), set()
    toks = _tokens(expr)
    stack = []          # '{', '(' (plain), 'L' (a label list), '['
    pending_list = False
    for k, (kind, text) in enumerate(toks):
        nxt = toks[k + 1][1] if k + 1 < len(toks) else None
        ctx = stack[-1] if stack else None
        if kind == "op" and text in "{([":
            if text == "(" and pending_list:
                stack.append("L")
            else:
                stack.append(text)
            pending_list = False
            continue
        if kind == "op" and text in "})]":
            if stack:
                stack.pop()
            continue
        if ctx == "[":
            continue
        if ctx == "{":
            if kind == "id" and nxt in ("=", "!=", "=~", "!~"):
                labels.add(text)
                if text == "__name__" and k + 2 < len(toks) and toks[k + 2][0] == "str":
                    metrics.add(_unquote(toks[k + 2][1]))
            continue
        if ctx == "L":
            if kind == "id":
                labels.add(text)
            continue
        if kind != "id":
            continue
        if text in _GROUPING:
            pending_list = True
        elif text in _KEYWORDS or nxt == "(":
            continue
        else:
            metrics.add(text)
    return metrics, labels


def grafana_exprs(dash):
    """[(where, expr, legend)] of a dashboard, variables replaced by what
    they stand for (a regex matching everything, an interval)."""
    out = []

    def subst(s):
        s = re.sub(r"\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}", "5m", s)
        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", ".*", s)

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title", where) if isinstance(node.get("title"), str) else where
            if isinstance(node.get("expr"), str) and node.get("expr"):
                out.append(("%s/%s" % (title, node.get("refId", "?")), subst(node["expr"]),
                            node.get("legendFormat", "")))
            for v in node.values():
                walk(v, title)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)

    walk(dash.get("panels", []), "panels")
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            m = re.fullmatch(r"\s*label_values\((?:(.*),)?\s*(\w+)\s*\)\s*", q)
            if not m:
                raise ValueError("variable %s: not label_values(...): %s" % (v.get("name"), q))
            out.append(("variable %s" % v.get("name"), subst(m.group(1) or "netknobs_findings"),
                        "{{%s}}" % m.group(2)))
    return out


def rule_exprs(path):
    import yaml  # only here: the other subcommands need no module
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    out = []
    for g in doc["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            out.append((name, r["expr"], ""))
            for key, text in r.get("annotations", {}).items():
                labels = " ".join("{{%s}}" % n for n in re.findall(r"\$labels\.(\w+)", text))
                out.append(("%s %s" % (name, key), None, labels))
                # queries run by the templates: printf "QUERY" ... | query
                for q in re.findall(r'printf\s+"((?:[^"\\]|\\.)*)"[^}]*\|\s*query\b', text):
                    out.append(("%s %s query" % (name, key), _unquote('"%s"' % q).replace("%q", '"x"'), ""))
    return out


def check(args):
    metrics, labels = set(), {"instance", "job"} | set(filter(None, args.labels.split(",")))
    for p in args.metrics:
        samples, types = read_exposition(p)
        metrics |= set(types) | {s[0] for s in samples}
        labels |= {k for s in samples for k, _ in s[1]}
    bad = 0
    for path in args.files:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                items = grafana_exprs(json.load(f))
        else:
            items = rule_exprs(path)
        for where, expr, legend in items:
            used_m, used_l = promql_names(expr) if expr else (set(), set())
            used_l |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend or ""))
            for m in sorted(used_m - metrics):
                print("%s: %s: metric %s is not in netknobs' output" % (path, where, m))
                bad += 1
            for lab in sorted(used_l - labels):
                print("%s: %s: label %s is not in netknobs' output" % (path, where, lab))
                bad += 1
            if expr and not used_m:
                print("%s: %s: names no metric: %s" % (path, where, expr))
                bad += 1
            print("checked %s: %s: metrics %s, labels %s" % (path, where, ",".join(sorted(used_m)) or "-",
                                                           ",".join(sorted(used_l)) or "-"))
    return 1 if bad else 0


def names(args):
    metrics, labels = set(), set()
    for p in args.files:
        samples, types = read_exposition(p)
        metrics |= set(types) | {s[0] for s in samples}
        labels |= {k for s in samples for k, _ in s[1]}
    for m in sorted(metrics):
        print("metric", m)
    for lab in sorted(labels):
        print("label", lab)


def exprs(args):
    with open(args.file, encoding="utf-8") as f:
        for where, expr, _ in grafana_exprs(json.load(f)):
            print("%s\t%s" % (where, " ".join(expr.split())))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("series")
    s.add_argument("file")
    s.add_argument("--instance", required=True)
    s.add_argument("--job", default="node")
    s.add_argument("--netns", action="append", default=[])
    s.add_argument("--steps", type=int, required=True)
    s.add_argument("--runs", default="")
    s.add_argument("--until", type=int)
    c = sub.add_parser("check")
    c.add_argument("--metrics", action="append", required=True)
    c.add_argument("--labels", default="")
    c.add_argument("files", nargs="+")
    n = sub.add_parser("names")
    n.add_argument("files", nargs="+")
    e = sub.add_parser("exprs")
    e.add_argument("file")
    a = p.parse_args()
    try:
        if a.cmd == "series":
            series(a)
        elif a.cmd == "check":
            return check(a)
        elif a.cmd == "names":
            names(a)
        else:
            exprs(a)
    except (OSError, ValueError, KeyError, IndexError) as e:
        print("promql.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
