#!/usr/bin/env python3
"""Validate a JSON document against a JSON Schema: schema-check.py SCHEMA DOC."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
try:
    jsonschema.validate(json.load(open(sys.argv[2])), schema,
                        cls=jsonschema.Draft202012Validator)
except jsonschema.ValidationError as e:
    print("invalid: %s at %s" % (e.message, "/".join(map(str, e.absolute_path))))
    sys.exit(1)
print("valid")
