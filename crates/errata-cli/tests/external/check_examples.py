"""Checks that every example of an `errata openapi` document matches the schema its response
references, that every code has exactly one example per media type (the envelope's and
`application/problem+json`), under a response for its status.

Usage: python3 check_examples.py openapi.json
"""

import json
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:errata:openapi"


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    resource = Resource.from_contents(doc, default_specification=DRAFT202012)
    registry = Registry().with_resource(BASE, resource)
    codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
    seen: dict[str, list[str]] = {}
    problems = []
    for name, response in doc["components"]["responses"].items():
        status = int(name.removeprefix("Error"))
        for media_type, content in response["content"].items():
            schema = {"$ref": BASE + content["schema"]["$ref"]}
            validator = Draft202012Validator(schema, registry=registry)
            for code, example in content["examples"].items():
                seen.setdefault(media_type, []).append(code)
                value = example["value"]
                for error in validator.iter_errors(value):
                    problems.append(f"{name} {media_type} example {code}: {error.message}")
                body_status = value.get("status")
                if body_status != status:
                    problems.append(f"{name} example {code} has status {body_status}")
    if not seen:
        problems.append("no examples")
    for media_type, examples in seen.items():
        if sorted(examples) != sorted(codes):
            problems.append(f"{media_type} examples {sorted(examples)} do not match codes {sorted(codes)}")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    count = sum(len(e) for e in seen.values())
    print(f"{count} examples match their schemas, one per code and media type ({', '.join(sorted(seen))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
