#!/usr/bin/env python3
"""Strict validation of rendered Kubernetes manifests.

Usage:
    python3 tools/validate/kube.py [--versions 1.33,1.37] [--crd CRD_FILE]... FILE_OR_DIR...
    python3 tools/validate/kube.py --list-versions

Every file given is read (directories are searched recursively for *.yaml, *.yml
and *.json); every document of a multi-document YAML file is checked:

* built-in kinds: ``kubernetes_validate.validate(obj, version, strict=True)`` for every
  requested Kubernetes version (unknown fields are errors); this includes
  ``apiextensions.k8s.io/v1 CustomResourceDefinition`` documents, also those of a file
  given with ``--crd`` when that file is given as FILE_OR_DIR too;
* the CRD kinds listed in ``CRDS`` (KEDA ScaledObject, Gateway API HTTPRoute and
  ReferenceGrant, Istio VirtualService; schemas vendored in ``crds/``, see crds/README.md)
  and those registered with ``--crd``: the ``openAPIV3Schema`` made strict (unknown fields
  are errors unless the CRD says ``x-kubernetes-preserve-unknown-fields``), with CRD
  defaulting applied first, ``nullable``, ``x-kubernetes-int-or-string``,
  ``x-kubernetes-embedded-resource``, list-type set/map uniqueness, int32/int64 ranges,
  date-time format and the ``x-kubernetes-validations`` CEL rules evaluated (transition
  rules using ``oldSelf`` are skipped); ``metadata`` is checked against the ObjectMeta
  schema of each requested version;
* any other apiVersion/kind is a FAILURE, never a silent pass;
* for every object: ``metadata.name`` required and well formed (RFC 1123 subdomain; RFC 1035
  label for Service, RFC 1123 label for Namespace, path segment for RBAC kinds, <= 52
  chars for CronJob), ``metadata.namespace`` an RFC 1123 label, label keys/values and
  annotation keys well formed; duplicate mapping keys in YAML/JSON are errors.

``--crd CRD_FILE`` (repeatable) registers custom resource kinds for this run. CRD_FILE is
YAML (possibly multi-document) or JSON; every ``apiextensions.k8s.io/v1``
CustomResourceDefinition in it registers the ``schema.openAPIV3Schema`` of each *served*
version under (``<spec.group>/<version name>``, ``spec.names.kind``), checked exactly like
the vendored schemas; versions with ``served: false`` are not registered. Other documents
in CRD_FILE are not read by ``--crd``. A CRD_FILE that cannot be read, holds no CRD, holds
a CRD of another apiVersion or one lacking group, kind, versions or a served version's
schema, or registers a kind that another ``--crd`` document registered already, is a usage
error (exit 2). A ``--crd`` kind that is also vendored replaces the vendored schema (noted
on stderr).

CEL: rules are evaluated with the ``common-expression-language`` package (a Rust CEL
implementation). Its own ``duration()`` parser is laxer than the one of Kubernetes (cel-go,
i.e. Go's ``time.ParseDuration``: it takes "1h-1m" and out-of-range values and refuses
"µs"), so every call of the global ``duration(x)`` is evaluated as
``duration(_k8s_go_duration(x))``: a string is parsed by a port of Go's
``time.ParseDuration`` (optional sign, then decimal numbers each with a unit ns, us, µs, μs,
ms, s, m or h, or just "0"; within the int64 nanosecond range) and passed on in the exact
form ``<seconds>s<nanoseconds>ns``; an invalid duration makes the rule fail with an error.

Output: one line per failure, ``FILE: doc N (Kind/name) vX.Y: message`` (failures that do
not depend on the Kubernetes version have no ``vX.Y``), then a summary line
``kube-validate: D documents x V versions, F failed``.  Exit status: 0 when all documents
are valid, 1 when any failed or no document was found, 2 on usage errors (including a bad
``--crd`` file) or missing deps.
"""

import argparse
import copy
import datetime
import difflib
import json
import logging
import os
import re
import sys

try:
    import jsonschema
    import kubernetes_validate
    import kubernetes_validate.utils as kvu
    import yaml
    from referencing import Registry, Resource
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "kube-validate: missing Python dependency (%s); run scripts/install-test-deps.sh\n" % exc
    )
    sys.exit(2)

try:
    import cel  # package "common-expression-language"
except ImportError:  # pragma: no cover - depends on the machine
    cel = None
else:
    # it logs (to stderr, via logging's last resort) every exception raised by a Python
    # function called from CEL; those become validation errors here, so keep stderr clean
    logging.getLogger("cel").addHandler(logging.NullHandler())

HERE = os.path.dirname(os.path.abspath(__file__))
CRD_DIR = os.path.join(HERE, "crds")

# (apiVersion, kind) -> vendored openAPIV3Schema (see crds/README.md)
CRDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway.networking.k8s.io_v1_httproute.json",
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"):
        "gateway.networking.k8s.io_v1beta1_referencegrant.json",
    ("networking.istio.io/v1", "VirtualService"): "networking.istio.io_v1_virtualservice.json",
}

# (apiVersion, kind) -> (where it came from, openAPIV3Schema), registered with --crd
EXTRA_CRDS = {}

OBJECTMETA_REF = (
    "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
)
MAX_ERRORS_PER_CHECK = 20

# ---------------------------------------------------------------------------
# YAML / JSON loading (duplicate keys are errors; timestamps stay strings)
# ---------------------------------------------------------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BaseLoader):
    """SafeLoader that rejects duplicate keys and keeps timestamps as strings."""


def _key_to_str(key):
    # sigs.k8s.io/yaml turns non-string keys into their string form
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


def _construct_mapping(loader, node, deep=False):
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, "expected a mapping node, but found %s" % node.id, node.start_mark
        )
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = _key_to_str(loader.construct_object(key_node, deep=True))
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                "found duplicate key %r (first at line %d)" % (key, seen[key].line + 1),
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark
    loader.flatten_mapping(node)
    mapping = {}
    for key_node, value_node in node.value:
        key = _key_to_str(loader.construct_object(key_node, deep=deep))
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


def _construct_str(loader, node):
    return loader.construct_scalar(node)


StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)
StrictLoader.add_constructor("tag:yaml.org,2002:value", _construct_str)


def _json_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate key %r" % k)
        out[k] = v
    return out


def load_documents(path):
    """Return a list of (index, document-or-None, error-or-None); index is 1-based."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        return [(1, None, "cannot read file: %s" % exc)]
    if path.endswith(".json"):
        try:
            return [(1, json.loads(text, object_pairs_hook=_json_pairs), None)]
        except ValueError as exc:
            return [(1, None, "invalid JSON: %s" % exc)]
    docs = []
    try:
        for i, doc in enumerate(yaml.load_all(text, Loader=StrictLoader), 1):
            docs.append((i, doc, None))
    except yaml.YAMLError as exc:
        docs.append((len(docs) + 1, None, "invalid YAML: %s" % str(exc).replace("\n", " ")))
    return docs


def collect_files(paths):
    files, missing = [], []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    if n.endswith((".yaml", ".yml", ".json")):
                        files.append(os.path.join(root, n))
        elif os.path.isfile(p):
            files.append(p)
        else:
            missing.append(p)
    return files, missing


# ---------------------------------------------------------------------------
# kubernetes-validate (built-in kinds)
# ---------------------------------------------------------------------------

_orig_schema_contents = kvu.schema_contents
_schema_cache = {}


def _cached_schema_contents(filename, desired_version):
    # kubernetes_validate re-reads (1.8 MB) _definitions.json on every call; cache parsed
    # files for the life of this process. Errors are not cached.
    try:
        return _schema_cache[filename]
    except KeyError:
        value = _orig_schema_contents(filename, desired_version)
        _schema_cache[filename] = value
        return value


kvu.schema_contents = _cached_schema_contents


def bundled_versions():
    """Map 'X.Y' -> 'X.Y.Z' of the schema sets bundled with kubernetes-validate."""
    out = {}
    for v in kvu.all_versions():
        out[kvu.major_minor(v)] = v
    return out


def _strict_dir(full_version):
    return "kubernetes-json-schema/v%s-local-strict" % full_version


def definitions(full_version):
    return _cached_schema_contents("%s/_definitions.json" % _strict_dir(full_version), full_version)


def _builtin_all_errors(obj, full_version):
    """All schema errors for a built-in object (kubernetes_validate stops at the first)."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
    schema = _cached_schema_contents(
        "%s/%s-%s.json" % (_strict_dir(full_version), obj["kind"].lower(), api), full_version
    )
    registry = Resource.from_contents(definitions(full_version)) @ (
        Resource.from_contents(schema) @ Registry()
    )
    validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
    return sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))


def validate_builtin(obj, mm, full_version):
    try:
        used = kubernetes_validate.validate(obj, mm, strict=True)
    except kvu.SchemaNotFoundError:
        return [
            "unknown kind: no schema for %s %s in Kubernetes %s (neither a built-in kind nor a "
            "known CRD: %s)" % (
                obj.get("kind"), obj.get("apiVersion"), mm,
                ", ".join("%s %s" % k for k in known_crds()),
            )
        ]
    except kvu.ValidationError as first:
        try:
            errs = _builtin_all_errors(obj, full_version)
        except Exception:  # fall back to the single error kubernetes_validate gave
            errs = []
        return [format_error(e) for e in (errs or [first])]
    except kvu.VersionNotSupportedError:
        return ["kubernetes-validate %s does not support Kubernetes %s" % (
            kubernetes_validate.__version__, mm)]
    except Exception as exc:  # never a silent pass
        return ["could not be validated: %s: %s" % (type(exc).__name__, exc)]
    if used != mm:
        return ["validated against Kubernetes %s instead of %s" % (used, mm)]
    return []


# ---------------------------------------------------------------------------
# CRD schemas (openAPIV3Schema -> strict JSON Schema 2020-12)
# ---------------------------------------------------------------------------

_SCHEMA_MAP_KEYS = ("properties", "patternProperties")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE_KEYS = ("items", "additionalProperties", "not", "additionalItems")


def convert_crd_schema(node):
    """Structural OpenAPI v3 schema node -> strict JSON Schema node."""
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in _SCHEMA_MAP_KEYS:
            out[k] = {pk: convert_crd_schema(pv) for pk, pv in v.items()}
        elif k in _SCHEMA_LIST_KEYS:
            out[k] = [convert_crd_schema(x) for x in v]
        elif k in _SCHEMA_ONE_KEYS:
            if isinstance(v, list):
                out[k] = [convert_crd_schema(x) for x in v]
            else:
                out[k] = convert_crd_schema(v)
        elif k == "nullable":
            continue
        elif k in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(v, bool):
            continue  # handled below (OpenAPI 3.0 boolean form)
        else:
            out[k] = v
    for excl, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(excl) is True and bound in node:
            out[excl] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("allOf", []).append({"anyOf": [{"type": "integer"}, {"type": "string"}]})
    if node.get("x-kubernetes-embedded-resource"):
        # an embedded object may always carry apiVersion, kind and metadata
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if node.get("nullable"):
        if "type" in out:
            t = out["type"]
            out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = list(out["enum"]) + [None]
    if (
        node.get("type") == "object"
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        # the API server prunes unknown fields; for us they are errors
        out["additionalProperties"] = False
    return out


def apply_defaults(inst, schema):
    """Apply CRD structural defaults in place (the API server defaults before validating)."""
    if not isinstance(schema, dict):
        return
    if isinstance(inst, dict):
        props = schema.get("properties") or {}
        for k, ps in props.items():
            if k not in inst and isinstance(ps, dict) and "default" in ps:
                inst[k] = copy.deepcopy(ps["default"])
        addl = schema.get("additionalProperties")
        for k, v in inst.items():
            if k in props:
                apply_defaults(v, props[k])
            elif isinstance(addl, dict):
                apply_defaults(v, addl)
    elif isinstance(inst, list) and isinstance(schema.get("items"), dict):
        for v in inst:
            apply_defaults(v, schema["items"])


_CEL_RESERVED = {
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
}


def _cel_escape_name(name):
    if name in _CEL_RESERVED:
        return "__%s__" % name
    return (
        name.replace("__", "__underscores__").replace(".", "__dot__")
        .replace("-", "__dash__").replace("/", "__slash__")
    )


def _cel_value(inst, schema):
    """Instance as CEL sees it: property names escaped the way Kubernetes escapes them."""
    if not isinstance(schema, dict):
        schema = {}
    if isinstance(inst, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        out = {}
        for k, v in inst.items():
            if k in props:
                out[_cel_escape_name(k)] = _cel_value(v, props[k])
            else:
                out[k] = _cel_value(v, addl if isinstance(addl, dict) else {})
        return out
    if isinstance(inst, list):
        return [_cel_value(v, schema.get("items")) for v in inst]
    return inst


# --- duration(): Kubernetes (cel-go) parses duration strings with Go's time.ParseDuration ---

_GO_DURATION_UNITS = {
    "ns": 1, "us": 10 ** 3, "\u00b5s": 10 ** 3, "\u03bcs": 10 ** 3, "ms": 10 ** 6,
    "s": 10 ** 9, "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9,
}
_GO_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def go_parse_duration(text):
    """Go's time.ParseDuration: the duration in nanoseconds, or ValueError (Go's message)."""
    quoted = json.dumps(text, ensure_ascii=False)
    invalid = ValueError("time: invalid duration " + quoted)
    s, neg = text, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if s[0] != "." and not "0" <= s[0] <= "9":
            raise invalid
        m = _GO_DURATION_PART.match(s)
        whole, frac, unit = m.group(1), m.group(2) or "", m.group(3)
        if not whole and not frac:
            raise invalid  # no digits, e.g. ".s"
        if not unit:
            raise ValueError("time: missing unit in duration " + quoted)
        if unit not in _GO_DURATION_UNITS:
            raise ValueError("time: unknown unit %s in duration %s" % (
                json.dumps(unit, ensure_ascii=False), quoted))
        scale = _GO_DURATION_UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > 2 ** 63:
            raise invalid
        s = s[m.end():]
    if neg:
        return -total
    if total > 2 ** 63 - 1:
        raise invalid
    return total


def _k8s_go_duration(value):
    """CEL function wrapped around every duration() argument (see cel_rewrite)."""
    if not isinstance(value, str):
        return value  # duration(duration) or a type error: left to duration()
    ns = go_parse_duration(value)
    sec, nanos = divmod(abs(ns), 10 ** 9)
    return "%s%ds%dns" % ("-" if ns < 0 else "", sec, nanos)


_CEL_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _cel_string_end(expr, i, raw):
    """Index just past the CEL string literal whose opening quote is at expr[i]."""
    delim = expr[i] * 3 if expr.startswith(expr[i] * 3, i) else expr[i]
    j = i + len(delim)
    while j < len(expr):
        if not raw and expr[j] == "\\":
            j += 2
        elif expr.startswith(delim, j):
            return j + len(delim)
        else:
            j += 1
    return len(expr)  # unterminated: cel.compile reports it


def cel_rewrite(expr):
    """``duration(x)`` -> ``duration(_k8s_go_duration(x))`` outside string literals."""
    out, stack, prev = [], [], ""
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        m = _CEL_IDENT.match(expr, i)
        if m:
            word, j = m.group(), m.end()
            if j < n and expr[j] in "'\"" and word.lower() in ("r", "b", "rb", "br"):
                end = _cel_string_end(expr, j, raw="r" in word.lower())
                out.append(expr[i:end])
                i, prev = end, '"'
                continue
            k = j
            while k < n and expr[k].isspace():
                k += 1
            if word == "duration" and prev != "." and k < n and expr[k] == "(":
                out.append("duration(_k8s_go_duration(")
                stack.append(True)
                i, prev = k + 1, "("
                continue
            out.append(word)
            i, prev = j, word[-1]
            continue
        if c in "'\"":
            end = _cel_string_end(expr, i, raw=False)
            out.append(expr[i:end])
            i, prev = end, c
            continue
        if c == "(":
            stack.append(False)
        elif c == ")" and stack and stack.pop():
            out.append(")")
        out.append(c)
        if not c.isspace():
            prev = c
        i += 1
    return "".join(out)


_cel_programs = {}
_BAD_DURATION = re.compile(  # how an error of _k8s_go_duration comes back from cel
    r"'_k8s_go_duration' error: .*?ValueError: (time: .*?)"
    r"(?:\. Check function arguments.*)?$", re.S)


def eval_cel_rule(expr, self_value):
    """Evaluate one x-kubernetes-validations rule with ``self`` bound (exceptions propagate)."""
    prog = _cel_programs.get(expr)
    if prog is None:
        prog = _cel_programs[expr] = cel.compile(cel_rewrite(expr))
    return prog.execute({"self": self_value, "_k8s_go_duration": _k8s_go_duration})


def _kw_cel(validator, rules, instance, schema):
    for rule in rules:
        expr = rule.get("rule", "")
        if re.search(r"\boldSelf\b", expr):
            continue  # transition rule: only evaluated on update
        if cel is None:
            yield jsonschema.ValidationError(
                "cannot evaluate CEL rule %r: Python package common-expression-language is not "
                "installed (run scripts/install-test-deps.sh)" % expr)
            continue
        try:
            result = eval_cel_rule(expr, _cel_value(instance, schema))
        except Exception as exc:
            bad_duration = _BAD_DURATION.search(str(exc))
            if bad_duration:  # the data is wrong (Kubernetes rejects it too)
                msg = "%s (CEL rule %r: %s)" % (
                    rule.get("message") or "failed rule", expr, bad_duration.group(1))
            else:
                msg = "CEL rule %r could not be evaluated: %s: %s" % (expr, type(exc).__name__, exc)
                if rule.get("message"):
                    msg += " (rule message: %s)" % rule["message"]
            yield jsonschema.ValidationError(msg)
            continue
        if result is not True:
            msg = rule.get("message") or ("failed rule: %s" % expr)
            if rule.get("fieldPath"):
                msg = "%s: %s" % (rule["fieldPath"].lstrip("."), msg)
            yield jsonschema.ValidationError(msg)


def _kw_list_type(validator, list_type, instance, schema):
    if not isinstance(instance, list):
        return
    if list_type == "set":
        seen = set()
        for i, item in enumerate(instance):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                yield jsonschema.ValidationError("duplicate entry at [%d]: %s" % (i, key))
            seen.add(key)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen = set()
        for i, item in enumerate(instance):
            if not isinstance(item, dict):
                continue
            key = json.dumps([item.get(k) for k in keys])
            if key in seen:
                yield jsonschema.ValidationError(
                    "duplicate entry at [%d] for list-map keys %s = %s" % (i, keys, key))
            seen.add(key)


_CrdValidator = jsonschema.validators.extend(
    jsonschema.validators.Draft202012Validator,
    {"x-kubernetes-validations": _kw_cel, "x-kubernetes-list-type": _kw_list_type},
)

FORMATS = jsonschema.FormatChecker(formats=())

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@FORMATS.checks("int32")
def _fmt_int32(v):
    return not isinstance(v, int) or isinstance(v, bool) or -(2 ** 31) <= v < 2 ** 31


@FORMATS.checks("int64")
def _fmt_int64(v):
    return not isinstance(v, int) or isinstance(v, bool) or -(2 ** 63) <= v < 2 ** 63


@FORMATS.checks("date-time")
def _fmt_datetime(v):
    if not isinstance(v, str):
        return True
    if not _RFC3339.match(v):
        return False
    try:
        datetime.datetime.fromisoformat(v.upper().replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


_crd_raw = {}
_crd_validators = {}


def known_crds():
    """(apiVersion, kind) of every custom resource kind known to this run, sorted."""
    return sorted(set(CRDS) | set(EXTRA_CRDS))


def crd_validator(key, full_version):
    cache_key = (key, full_version)
    if cache_key in _crd_validators:
        return _crd_validators[cache_key]
    if key not in _crd_raw:
        if key in EXTRA_CRDS:  # --crd takes precedence over a vendored schema
            _crd_raw[key] = convert_crd_schema(EXTRA_CRDS[key][1])
        else:
            with open(os.path.join(CRD_DIR, CRDS[key]), encoding="utf-8") as f:
                _crd_raw[key] = convert_crd_schema(json.load(f))
    schema = copy.deepcopy(_crd_raw[key])
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"const": key[0]}
    props["kind"] = {"const": key[1]}
    props["metadata"] = {"$ref": OBJECTMETA_REF}
    required = set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"}
    schema["required"] = sorted(required)
    registry = Resource.from_contents(definitions(full_version)) @ Registry()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    v = _CrdValidator(schema, registry=registry, format_checker=FORMATS)
    _crd_validators[cache_key] = (schema, v)
    return schema, v


def validate_crd(obj, key, full_version):
    schema, validator = crd_validator(key, full_version)
    inst = copy.deepcopy(obj)
    apply_defaults(inst, schema)
    errs = sorted(validator.iter_errors(inst), key=lambda e: list(map(str, e.absolute_path)))
    return [format_error(e) for e in errs]


# ---------------------------------------------------------------------------
# --crd: CustomResourceDefinition files given on the command line
# ---------------------------------------------------------------------------


class CrdFileError(Exception):
    """A --crd file that cannot be used (a usage error)."""


def _mapping(value):
    return value if isinstance(value, dict) else {}


def load_crd_file(path):
    """[((apiVersion, kind), where, openAPIV3Schema)] for each served version of each CRD."""
    if not os.path.isfile(path):
        raise CrdFileError("%s: no such file" % path)
    found, n_crds = [], 0
    for idx, doc, load_err in load_documents(path):
        if load_err is not None:
            raise CrdFileError("%s: doc %d: %s" % (path, idx, load_err))
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue  # not read by --crd (validated only when the file is a FILE_OR_DIR too)
        where = "%s: doc %d (CustomResourceDefinition/%s)" % (
            path, idx, _mapping(doc.get("metadata")).get("name") or "?")
        if doc.get("apiVersion") != "apiextensions.k8s.io/v1":
            raise CrdFileError("%s: apiVersion %r is not supported (only apiextensions.k8s.io/v1)"
                               % (where, doc.get("apiVersion")))
        n_crds += 1
        spec = _mapping(doc.get("spec"))
        group, kind = spec.get("group"), _mapping(spec.get("names")).get("kind")
        versions = spec.get("versions")
        if not isinstance(group, str) or not group:
            raise CrdFileError("%s: spec.group: required (non-empty string)" % where)
        if not isinstance(kind, str) or not kind:
            raise CrdFileError("%s: spec.names.kind: required (non-empty string)" % where)
        if not isinstance(versions, list) or not versions:
            raise CrdFileError("%s: spec.versions: required (non-empty list)" % where)
        for i, ver in enumerate(versions):
            name = _mapping(ver).get("name")
            if not isinstance(name, str) or not name:
                raise CrdFileError("%s: spec.versions[%d].name: required (non-empty string)"
                                   % (where, i))
            if _mapping(ver).get("served") is not True:
                continue
            schema = _mapping(ver.get("schema")).get("openAPIV3Schema")
            if not isinstance(schema, dict):
                raise CrdFileError("%s: spec.versions[%d] (%s) is served but has no "
                                   "schema.openAPIV3Schema" % (where, i, name))
            try:
                _CrdValidator.check_schema(convert_crd_schema(schema))
            except jsonschema.SchemaError as exc:
                raise CrdFileError("%s: spec.versions[%d].schema.openAPIV3Schema.%s: %s" % (
                    where, i, json_path(exc.absolute_path), exc.message))
            found.append((("%s/%s" % (group, name), kind), where, schema))
    if n_crds == 0:
        raise CrdFileError("%s: no CustomResourceDefinition in this file" % path)
    if not found:
        raise CrdFileError("%s: no CustomResourceDefinition in this file has a served version"
                           % path)
    return found


def register_crd_files(paths):
    """Register the CRDs of the --crd files in EXTRA_CRDS; raise CrdFileError."""
    seen_paths = set()
    for path in paths:
        real = os.path.realpath(path)
        if real in seen_paths:
            continue
        seen_paths.add(real)
        for key, where, schema in load_crd_file(path):
            if key in EXTRA_CRDS:
                raise CrdFileError("%s: %s %s is registered already by %s" % (
                    where, key[0], key[1], EXTRA_CRDS[key][0]))
            if key in CRDS:
                sys.stderr.write("kube-validate: note: %s %s from %s replaces the vendored "
                                 "schema crds/%s\n" % (key[0], key[1], where, CRDS[key]))
            EXTRA_CRDS[key] = (where, schema)
            _crd_raw.pop(key, None)


# ---------------------------------------------------------------------------
# metadata checks that the schemas do not express
# ---------------------------------------------------------------------------

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}


def _check_dns_subdomain(v):
    if len(v) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN.match(v):
        return ("must be a lowercase RFC 1123 subdomain (lowercase alphanumerics, '-' or '.', "
                "starting and ending with an alphanumeric)")
    return None


def _check_dns_label(v):
    if len(v) > 63:
        return "must be no more than 63 characters"
    if not _DNS1123_LABEL.match(v):
        return ("must be a lowercase RFC 1123 label (lowercase alphanumerics or '-', starting "
                "and ending with an alphanumeric)")
    return None


def _check_dns1035_label(v):
    if len(v) > 63:
        return "must be no more than 63 characters"
    if not _DNS1035_LABEL.match(v):
        return ("must be an RFC 1035 label (lowercase alphanumerics or '-', starting with a "
                "letter and ending with an alphanumeric)")
    return None


def _check_path_segment(v):
    if v in (".", ".."):
        return "may not be '.' or '..'"
    if "/" in v or "%" in v:
        return "may not contain '/' or '%'"
    return None


def _check_qualified_name(key):
    parts = key.split("/")
    if len(parts) > 2:
        return "must be a qualified name ([prefix/]name)"
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            return "prefix part must be non-empty"
        err = _check_dns_subdomain(parts[0])
        if err:
            return "prefix part " + err
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.match(name):
        return ("name part must consist of alphanumerics, '-', '_' or '.', starting and ending "
                "with an alphanumeric")
    return None


def check_metadata(obj):
    errs = []
    kind = obj.get("kind")
    md = obj.get("metadata")
    if not isinstance(md, dict):
        return ["metadata: required object is missing"]
    name = md.get("name")
    if not isinstance(name, str) or not name:
        errs.append("metadata.name: required (non-empty string)")
    else:
        if kind == "Service":
            err = _check_dns1035_label(name)
        elif kind == "Namespace":
            err = _check_dns_label(name)
        elif kind in _RBAC_KINDS:
            err = _check_path_segment(name)
        else:
            err = _check_dns_subdomain(name)
            if not err and kind == "CronJob" and len(name) > 52:
                err = "must be no more than 52 characters"
        if err:
            errs.append("metadata.name: %r %s" % (name, err))
    ns = md.get("namespace")
    if ns is not None:
        err = "must be a string" if not isinstance(ns, str) else _check_dns_label(ns)
        if err:
            errs.append("metadata.namespace: %r %s" % (ns, err))
    labels = md.get("labels")
    if labels is not None:
        if not isinstance(labels, dict):
            errs.append("metadata.labels: must be a map of strings")
        else:
            for k, v in labels.items():
                err = _check_qualified_name(k)
                if err:
                    errs.append("metadata.labels: key %r %s" % (k, err))
                if not isinstance(v, str):
                    errs.append("metadata.labels[%r]: value must be a string, got %r" % (k, v))
                elif len(v) > 63 or not _LABEL_VALUE.match(v):
                    errs.append("metadata.labels[%r]: value %r must be at most 63 alphanumerics, "
                                "'-', '_' or '.', starting and ending with an alphanumeric" % (k, v))
    ann = md.get("annotations")
    if ann is not None:
        if not isinstance(ann, dict):
            errs.append("metadata.annotations: must be a map of strings")
        else:
            total = 0
            for k, v in ann.items():
                err = _check_qualified_name(k)
                if err:
                    errs.append("metadata.annotations: key %r %s" % (k, err))
                if not isinstance(v, str):
                    errs.append("metadata.annotations[%r]: value must be a string, got %r" % (k, v))
                else:
                    total += len(k) + len(v)
            if total > 256 * 1024:
                errs.append("metadata.annotations: total size %d must be <= 262144 bytes" % total)
    return errs


# ---------------------------------------------------------------------------
# error formatting
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
    elif e.validator == "additionalProperties" and isinstance(e.schema, dict):
        known = list((e.schema.get("properties") or {}).keys())
        extra = [k for k in (e.instance or {}) if k not in known] if isinstance(e.instance, dict) else []
        hints = []
        for k in extra:
            close = difflib.get_close_matches(k, known, n=1)
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
    return "%s: %s" % (json_path(e.absolute_path), msg)


def _limit(errs):
    if len(errs) > MAX_ERRORS_PER_CHECK:
        return errs[:MAX_ERRORS_PER_CHECK] + ["... and %d more" % (len(errs) - MAX_ERRORS_PER_CHECK)]
    return errs


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def validate_document(obj, versions, bundled):
    """Return (version-independent errors, {mm: errors})."""
    if not isinstance(obj, dict):
        return ["document is not a mapping (got %s)" % type(obj).__name__], {}
    api, kind = obj.get("apiVersion"), obj.get("kind")
    common = []
    if not isinstance(api, str) or not api:
        common.append("apiVersion: required (non-empty string)")
    if not isinstance(kind, str) or not kind:
        common.append("kind: required (non-empty string)")
    if common:
        return common, {}
    common = check_metadata(obj)
    per_version = {}
    key = (api, kind)
    for mm in versions:
        if key in CRDS or key in EXTRA_CRDS:
            errs = validate_crd(obj, key, bundled[mm])
        else:
            errs = validate_builtin(obj, mm, bundled[mm])
        per_version[mm] = errs
    return common, per_version


def describe(obj):
    if not isinstance(obj, dict):
        return "?/?"
    md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return "%s/%s" % (obj.get("kind") or "?", md.get("name") or "?")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default="1.33,1.37",
                    help="comma-separated Kubernetes versions X.Y (default: %(default)s)")
    ap.add_argument("--list-versions", action="store_true",
                    help="print the Kubernetes versions kubernetes-validate bundles and exit")
    ap.add_argument("--crd", action="append", default=[], metavar="CRD_FILE",
                    help="register the custom resource kinds of the apiextensions.k8s.io/v1 "
                         "CustomResourceDefinition(s) in CRD_FILE (YAML, multi-document allowed, "
                         "or JSON): every served version's openAPIV3Schema, checked like the "
                         "vendored CRD schemas; repeatable. The CRDs themselves are validated "
                         "only when CRD_FILE is also given as FILE_OR_DIR")
    ap.add_argument("paths", nargs="*", metavar="FILE_OR_DIR")
    args = ap.parse_args(argv)

    bundled = bundled_versions()
    if args.list_versions:
        print(" ".join(sorted(bundled, key=lambda v: tuple(map(int, v.split("."))))))
        return 0
    if not args.paths:
        ap.error("no FILE_OR_DIR given")
    versions = []
    for v in args.versions.split(","):
        v = v.strip().lstrip("v")
        if not v:
            continue
        mm = kvu.major_minor(v)
        if mm not in bundled:
            ap.error("Kubernetes %s is not bundled with kubernetes-validate %s (have: %s)" % (
                mm, kubernetes_validate.__version__,
                ", ".join(sorted(bundled, key=lambda x: tuple(map(int, x.split(".")))))))
        if mm not in versions:
            versions.append(mm)
    if not versions:
        ap.error("--versions is empty")
    try:
        register_crd_files(args.crd)
    except CrdFileError as exc:
        ap.error("--crd %s" % exc)

    files, missing = collect_files(args.paths)
    failed_docs = 0
    n_docs = 0
    for m in missing:
        print("%s: no such file or directory" % m)
        failed_docs += 1
    for path in files:
        for idx, doc, load_err in load_documents(path):
            if load_err is not None:
                n_docs += 1
                failed_docs += 1
                print("%s: doc %d: %s" % (path, idx, load_err))
                continue
            if doc is None:
                continue  # empty document (e.g. a trailing '---')
            n_docs += 1
            common, per_version = validate_document(doc, versions, bundled)
            what = describe(doc)
            bad = False
            for msg in _limit(common):
                print("%s: doc %d (%s): %s" % (path, idx, what, msg))
                bad = True
            for mm in versions:
                for msg in _limit(per_version.get(mm, [])):
                    print("%s: doc %d (%s) v%s: %s" % (path, idx, what, mm, msg))
                    bad = True
            if bad:
                failed_docs += 1
    print("kube-validate: %d documents x %d versions, %d failed" % (n_docs, len(versions), failed_docs))
    if n_docs == 0:
        print("kube-validate: no documents found in %s" % " ".join(args.paths))
        return 1
    return 1 if failed_docs else 0


if __name__ == "__main__":
    sys.exit(main())
