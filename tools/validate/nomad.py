#!/usr/bin/env python3
"""Strict validation of rendered Nomad job JSON (``{"Job": {...}}``, the HTTP API form).

Usage:
    python3 tools/validate/nomad.py [--openapi PATH] [--schema-only] FILE_OR_DIR...

Directories are searched recursively for *.json. Each file must be one JSON object with a
``Job`` key (other top-level keys are checked against ``JobRegisterRequest``); ``Job`` is
validated with ``jsonschema`` against ``components.schemas.Job`` of the Nomad OpenAPI 3
description (default ``<repo>/../shared/data/nomad-openapi-v1.yaml``), made strict:

* ``additionalProperties: false`` is injected into every object schema that declares
  ``properties`` but no ``additionalProperties`` (misspelt keys fail);
* OpenAPI 3.0 specifics: ``nullable`` adds ``null``; siblings of ``$ref`` are ignored;
  boolean ``exclusiveMinimum``/``exclusiveMaximum`` are converted;
* ``integer`` means a JSON integer (``3.0`` and ``true`` are not integers, Go would reject
  them); duplicate JSON keys are errors.

Unless ``--schema-only`` is given, a few checks that ``nomad job validate`` would also make
are added (the schema has no ``required``): Job.ID non-empty without spaces, Job.Type one
of service/batch/system/sysbatch, Periodic only for batch/sysbatch, at least one TaskGroup,
unique non-empty group names, at least one Task per group, unique non-empty task names,
non-empty Driver, Count >= 0, and durations (nanosecond integers) that are > 0 but < 1 ms
are reported as almost certainly seconds/milliseconds passed unconverted.

Output: ``FILE: JSON.PATH: message`` per failure, then ``nomad-validate: N jobs, M failed``.
Exit status 0 when all jobs are valid, 1 on any failure or when no file was found, 2 on
usage errors or missing dependencies.
"""

import argparse
import copy
import difflib
import json
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "nomad-validate: missing Python dependency (%s); run scripts/install-test-deps.sh\n" % exc
    )
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))  # <repo>/tools/validate -> <repo>
DEFAULT_OPENAPI = os.path.normpath(
    os.path.join(REPO_ROOT, "..", "shared", "data", "nomad-openapi-v1.yaml"))

MAX_ERRORS_PER_FILE = 50

# (schema name, property) whose integer value is a Go time.Duration (nanoseconds)
DURATIONS = {
    "ChangeScript": {"Timeout"},
    "CheckRestart": {"Grace"},
    "ConsulGatewayProxy": {"ConnectTimeout"},
    "MigrateStrategy": {"HealthyDeadline", "MinHealthyTime"},
    "ReschedulePolicy": {"Delay", "Interval", "MaxDelay"},
    "RestartPolicy": {"Delay", "Interval"},
    "ServiceCheck": {"Interval", "Timeout"},
    "SidecarTask": {"KillTimeout", "ShutdownDelay"},
    "Task": {"KillTimeout", "ShutdownDelay"},
    "TaskCSIPluginConfig": {"HealthTimeout"},
    "TaskGroup": {"MaxClientDisconnect", "ShutdownDelay", "StopAfterClientDisconnect"},
    "Template": {"Splay", "VaultGrace"},
    "UpdateStrategy": {"HealthyDeadline", "MinHealthyTime", "ProgressDeadline", "Stagger"},
    "WaitConfig": {"Min", "Max"},
}
MIN_SANE_DURATION_NS = 1_000_000  # 1 ms

_SCHEMA_MAP_KEYS = ("properties", "patternProperties")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE_KEYS = ("items", "additionalProperties", "not")
_OPENAPI_ONLY = ("nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs",
                 "example", "deprecated")


def convert_openapi_schema(node):
    """OpenAPI 3.0 schema object -> strict JSON Schema 2020-12."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": node["$ref"]}  # OpenAPI 3.0: siblings of $ref are ignored
    out = {}
    for k, v in node.items():
        if k in _SCHEMA_MAP_KEYS:
            out[k] = {pk: convert_openapi_schema(pv) for pk, pv in v.items()}
        elif k in _SCHEMA_LIST_KEYS:
            out[k] = [convert_openapi_schema(x) for x in v]
        elif k in _SCHEMA_ONE_KEYS:
            out[k] = convert_openapi_schema(v)
        elif k in _OPENAPI_ONLY:
            continue
        elif k in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(v, bool):
            continue
        else:
            out[k] = v
    for excl, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(excl) is True and bound in node:
            out[excl] = out.pop(bound)
    if node.get("nullable"):
        if "type" in out:
            t = out["type"]
            out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def _is_integer(checker, instance):
    return isinstance(instance, int) and not isinstance(instance, bool)


_TYPE_CHECKER = jsonschema.validators.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", _is_integer)
_Validator = jsonschema.validators.extend(
    jsonschema.validators.Draft202012Validator, type_checker=_TYPE_CHECKER)


def load_openapi(path):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=loader)
    schemas = doc["components"]["schemas"]
    if "Job" not in schemas:
        raise ValueError("%s has no components.schemas.Job" % path)
    return schemas


def build_validator(schemas):
    converted = {name: convert_openapi_schema(s) for name, s in schemas.items()}
    if "JobRegisterRequest" in converted:
        root = copy.deepcopy(converted["JobRegisterRequest"])
    else:
        root = {"type": "object", "properties": {"Job": {"$ref": "#/components/schemas/Job"}},
                "additionalProperties": False}
    root["required"] = sorted(set(root.get("required", [])) | {"Job"})
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["components"] = {"schemas": converted}  # '#/components/schemas/X' resolves here
    return _Validator(root)


# ---------------------------------------------------------------------------
# semantic checks
# ---------------------------------------------------------------------------


def _walk_durations(inst, schema_name, schemas, path, out):
    schema = schemas.get(schema_name) or {}
    props = schema.get("properties") or {}
    if not isinstance(inst, dict):
        return
    for k, v in inst.items():
        if k in DURATIONS.get(schema_name, ()) and _is_integer(None, v) \
                and 0 < v < MIN_SANE_DURATION_NS:
            out.append((path + [k], "duration %d ns is below 1 ms; Nomad JSON durations are "
                                    "integer nanoseconds (e.g. 30s = 30000000000)" % v))
        p = props.get(k)
        if not isinstance(p, dict):
            continue
        ref = p.get("$ref")
        if ref:
            _walk_durations(v, ref.rsplit("/", 1)[-1], schemas, path + [k], out)
        elif p.get("type") == "array" and isinstance(v, list):
            iref = (p.get("items") or {}).get("$ref")
            if iref:
                for i, item in enumerate(v):
                    _walk_durations(item, iref.rsplit("/", 1)[-1], schemas, path + [k, i], out)
        elif p.get("type") == "object" and isinstance(v, dict):
            aref = (p.get("additionalProperties") or {})
            aref = aref.get("$ref") if isinstance(aref, dict) else None
            if aref:
                for mk, mv in v.items():
                    _walk_durations(mv, aref.rsplit("/", 1)[-1], schemas, path + [k, mk], out)


def semantic_errors(job, schemas):
    errs = []
    if not isinstance(job, dict):
        return errs
    jid = job.get("ID")
    if not isinstance(jid, str) or not jid:
        errs.append((["Job", "ID"], "required (non-empty string)"))
    elif " " in jid or "\x00" in jid:
        errs.append((["Job", "ID"], "must not contain spaces or null characters"))
    jtype = job.get("Type")
    if jtype is not None and jtype not in ("service", "batch", "system", "sysbatch"):
        errs.append((["Job", "Type"], "%r is not one of service, batch, system, sysbatch" % jtype))
    if job.get("Periodic") is not None and (jtype or "service") not in ("batch", "sysbatch"):
        errs.append((["Job", "Periodic"], "periodic jobs must have Type batch or sysbatch "
                                          "(Type is %r)" % (jtype or "service (default)")))
    groups = job.get("TaskGroups")
    if not isinstance(groups, list) or not groups:
        errs.append((["Job", "TaskGroups"], "at least one task group is required"))
        groups = []
    seen_groups = set()
    for gi, g in enumerate(groups):
        if not isinstance(g, dict):
            continue
        gp = ["Job", "TaskGroups", gi]
        name = g.get("Name")
        if not isinstance(name, str) or not name:
            errs.append((gp + ["Name"], "required (non-empty string)"))
        elif name in seen_groups:
            errs.append((gp + ["Name"], "duplicate task group name %r" % name))
        else:
            seen_groups.add(name)
        count = g.get("Count")
        if _is_integer(None, count) and count < 0:
            errs.append((gp + ["Count"], "must be >= 0"))
        tasks = g.get("Tasks")
        if not isinstance(tasks, list) or not tasks:
            errs.append((gp + ["Tasks"], "at least one task is required"))
            continue
        seen_tasks = set()
        for ti, t in enumerate(tasks):
            if not isinstance(t, dict):
                continue
            tp = gp + ["Tasks", ti]
            tname = t.get("Name")
            if not isinstance(tname, str) or not tname:
                errs.append((tp + ["Name"], "required (non-empty string)"))
            elif tname in seen_tasks:
                errs.append((tp + ["Name"], "duplicate task name %r" % tname))
            else:
                seen_tasks.add(tname)
            driver = t.get("Driver")
            if not isinstance(driver, str) or not driver:
                errs.append((tp + ["Driver"], "required (non-empty string)"))
    _walk_durations(job, "Job", schemas, ["Job"], errs)
    return errs


# ---------------------------------------------------------------------------


def json_path(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + str(p)
    return out or "(root)"


def format_error(e):
    msg = e.message
    if e.validator == "type":
        shown = json.dumps(e.instance, sort_keys=True, default=str)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        want = e.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        msg = "%s is not of type %s" % (shown, want)
    elif e.validator == "additionalProperties" and isinstance(e.schema, dict) \
            and isinstance(e.instance, dict):
        known = list((e.schema.get("properties") or {}).keys())
        hints = []
        for k in e.instance:
            if k in known:
                continue
            close = difflib.get_close_matches(k, known, n=1)
            if not close:
                close = [x for x in known if x.lower() == k.lower()]
            if close:
                hints.append("%r -> did you mean %r?" % (k, close[0]))
        if hints:
            msg += " [" + "; ".join(hints) + "]"
    elif e.context:
        best = jsonschema.exceptions.best_match(e.context)
        if best is not None:
            msg += " (%s: %s)" % (json_path(best.absolute_path), best.message)
    if len(msg) > 400:
        msg = msg[:400] + "..."
    return json_path(e.absolute_path), msg


def _json_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate key %r" % k)
        out[k] = v
    return out


def collect_files(paths):
    files, missing = [], []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(".json"))
        elif os.path.isfile(p):
            files.append(p)
        else:
            missing.append(p)
    return files, missing


def validate_file(path, validator, schemas, schema_only):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, object_pairs_hook=_json_pairs)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [("(file)", "cannot load JSON: %s" % exc)]
    if not isinstance(doc, dict) or not isinstance(doc.get("Job"), dict):
        return [("(root)", 'must be a JSON object {"Job": {...}}')]
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    out = [format_error(e) for e in errors]
    if not schema_only:
        out.extend((json_path(p), "[semantic] " + m) for p, m in semantic_errors(doc["Job"], schemas))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--openapi", default=DEFAULT_OPENAPI,
                    help="Nomad OpenAPI 3 description (default: %(default)s)")
    ap.add_argument("--schema-only", action="store_true",
                    help="only the OpenAPI schema check, no semantic checks")
    ap.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    args = ap.parse_args(argv)

    try:
        schemas = load_openapi(args.openapi)
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
        print("nomad-validate: cannot load OpenAPI description %s: %s" % (args.openapi, exc))
        return 2
    validator = build_validator(schemas)

    files, missing = collect_files(args.paths)
    failed = 0
    for m in missing:
        print("%s: no such file or directory" % m)
        failed += 1
    for path in files:
        errs = validate_file(path, validator, schemas, args.schema_only)
        if errs:
            failed += 1
            for p, msg in errs[:MAX_ERRORS_PER_FILE]:
                print("%s: %s: %s" % (path, p, msg))
            if len(errs) > MAX_ERRORS_PER_FILE:
                print("%s: ... and %d more" % (path, len(errs) - MAX_ERRORS_PER_FILE))
    print("nomad-validate: %d jobs, %d failed" % (len(files) + len(missing), failed))
    if not files:
        print("nomad-validate: no JSON files found in %s" % " ".join(args.paths))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
