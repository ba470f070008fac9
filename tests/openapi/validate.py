#!/usr/bin/env python3
"""Validates JSON documents against a schema of a 3GPP OpenAPI file, following $refs into the files beside it.

Usage: validate.py OPENAPI.yaml SCHEMA_NAME FILE.json...  (each FILE holds one JSON document)
Exit 0 when every document is valid; otherwise each error is printed (file, JSON path, message) and the exit is 1.
OpenAPI 3.0 schemas are JSON Schema draft 4/5 plus keywords a draft-4 validator ignores (nullable, readOnly).
"""
import json
import os
import sys
import warnings

import yaml
import jsonschema

warnings.simplefilter("ignore", DeprecationWarning)  # RefResolver: deprecated in new releases, Debian has 4.10


def load_yaml_uri(uri):
    with open(uri[len("file://"):], encoding="utf-8") as f:
        return yaml.safe_load(f)


def main():
    spec_path, name, files = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    base = "file://" + spec_path
    doc = load_yaml_uri(base)
    if name not in doc["components"]["schemas"]:
        print("%s: no schema %s" % (spec_path, name))
        return 2
    resolver = jsonschema.RefResolver(base, doc, handlers={"file": load_yaml_uri})
    validator = jsonschema.Draft4Validator({"$ref": "#/components/schemas/" + name}, resolver=resolver)
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        for err in validator.iter_errors(instance):
            bad += 1
            print("%s: /%s: %s" % (path, "/".join(str(p) for p in err.absolute_path), err.message))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
