#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema: schema-check.py SCHEMA DOC [DEF]
(DEF: against the schema's $defs/DEF instead of the root; references
still resolve against the whole schema)."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
if len(sys.argv) > 3:
    validator = validator.evolve(schema=schema["$defs"][sys.argv[3]])
e = jsonschema.exceptions.best_match(validator.iter_errors(json.load(open(sys.argv[2]))))
if e is not None:
    print("invalid: %s at %s" % (e.message, "/".join(map(str, e.absolute_path))))
    sys.exit(1)
print("valid")
