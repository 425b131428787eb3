#!/usr/bin/env python3
"""Validates ojek's OpenAPI document with openapi-spec-validator.

    python3 tools/validate/openapi_check.py [FILE ...]

FILE is YAML or JSON (default: crates/ojek-server/openapi.yaml). The server's integration
tests also pass the document as served at /api/openapi.json, to check what ojek's own YAML
parser made of it.

Beyond the specification's schema, openapi-spec-validator resolves every $ref, checks that
path parameters are declared and that operation ids are unique.

Exit status: 0 valid; 1 invalid (the errors are printed); 2 usage or unreadable file;
3 openapi-spec-validator or PyYAML is not installed (scripts/install-test-deps.sh installs
them).
"""

import json
import pathlib
import sys

DEFAULT = pathlib.Path(__file__).resolve().parents[2] / "crates" / "ojek-server" / "openapi.yaml"
MISSING_DEPENDENCY = 3


def load(path):
    import yaml

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def check(path):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    try:
        spec = load(path)
    except (OSError, ValueError) as e:
        print(f"{path}: cannot read: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # yaml.YAMLError and the like
        print(f"{path}: not valid YAML: {e}", file=sys.stderr)
        return 1
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3.1"):
        version = spec.get("openapi") if isinstance(spec, dict) else None
        print(f"{path}: not an OpenAPI 3.1 document (openapi: {version!r})", file=sys.stderr)
        return 1
    try:
        errors = list(OpenAPIV31SpecValidator(spec, base_uri=path.resolve().as_uri()).iter_errors())
    except Exception as e:  # an unresolvable $ref raises instead of reporting
        what = getattr(e, "ref", None) or str(e).split(" within ", 1)[0]
        print(f"{path}: cannot resolve {what} ({type(e).__name__})", file=sys.stderr)
        return 1
    if errors:
        for e in errors:
            where = "/".join(str(p) for p in getattr(e, "absolute_path", [])) or "(document)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        print(f"{path}: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print(f"{path}: valid OpenAPI {spec['openapi']}")
    return 0


def main(argv):
    try:
        import openapi_spec_validator  # noqa: F401
        import yaml  # noqa: F401
    except ImportError as e:
        print(f"openapi_check: {e}; run scripts/install-test-deps.sh", file=sys.stderr)
        return MISSING_DEPENDENCY
    paths = [pathlib.Path(a) for a in argv[1:]] or [DEFAULT]
    worst = 0
    for path in paths:
        worst = max(worst, check(path))
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv))
