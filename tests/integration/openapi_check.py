#!/usr/bin/env python3
"""Checks one HTTP answer against mihua's OpenAPI documents (docs/openapi/): the operation must exist for the
method and path, the status must be one it declares, the content type the one declared for that status, and the
JSON body valid against the declared schema (jsonschema, Draft 4 as OpenAPI 3.0 uses it; $refs across the
documents resolved). Usage: openapi_check.py DOC.yaml METHOD PATH STATUS CONTENT_TYPE BODY_FILE
Exit 0 when it conforms; otherwise 1 with the reason on stderr."""
import json
import os
import re
import sys
import warnings

import jsonschema
import yaml

warnings.filterwarnings("ignore", category=DeprecationWarning)


def fail(msg):
    print(f"openapi_check: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def main():
    doc_path, method, path, status, ctype, body_file = sys.argv[1:7]
    doc_dir = os.path.dirname(os.path.abspath(doc_path))
    store = {}
    for name in os.listdir(doc_dir):
        if name.endswith(".yaml"):
            store["file://" + os.path.join(doc_dir, name)] = load(os.path.join(doc_dir, name))
    base = "file://" + os.path.abspath(doc_path)
    doc = store[base]
    resolver = jsonschema.RefResolver(base, doc, store=store)

    path = path.split("?", 1)[0]
    for template, item in doc["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            break
    else:
        fail(f"no path of {os.path.basename(doc_path)} matches {path}")
    op = item.get(method.lower())
    if op is None:
        fail(f"{method} {template} is not in the document")
    resp = op["responses"].get(status) or op["responses"].get("default")
    if resp is None:
        fail(f"{method} {template}: status {status} is not declared ({', '.join(op['responses'])})")
    scope = base
    while "$ref" in resp:  # a response defined in another document: its schema's refs are relative to that one
        scope, resp = resolver.resolve(resp["$ref"])
        scope = scope.split("#", 1)[0]
        resolver = jsonschema.RefResolver(scope, store[scope], store=store)
    with open(body_file, "rb") as f:
        body = f.read()
    content = resp.get("content")
    if not content:
        if body:
            fail(f"{method} {template} {status}: declared without a body, got {len(body)} bytes")
        return
    media = ctype.split(";")[0].strip().lower()
    if media not in content:
        fail(f"{method} {template} {status}: content type {media!r}, declared {list(content)}")
    schema = content[media]["schema"]
    if schema.get("format") == "binary":  # a file (a capture): its bytes are the tools' business, not a schema's
        if not body:
            fail(f"{method} {template} {status}: an empty file")
        return
    try:
        value = json.loads(body)
    except ValueError as e:
        fail(f"{method} {template} {status}: body is not JSON ({e})")
    try:
        jsonschema.Draft4Validator(schema, resolver=resolver).validate(value)
    except jsonschema.ValidationError as e:
        fail(f"{method} {template} {status}: {e.message} at {'/'.join(str(p) for p in e.absolute_path) or '/'}")


if __name__ == "__main__":
    main()
