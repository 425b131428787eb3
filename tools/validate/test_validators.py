#!/usr/bin/env python3
"""Self-test of kube.py and nomad.py: good documents must pass, bad ones must fail.

Run: python3 tools/validate/test_validators.py   (exit status 1 when any case fails)
Prints "self-test: N passed, M failed" as its last line.

CASES run kube.py / nomad.py on files written to a temporary directory; CEL_CASES
evaluate CEL rules in-process with kube.py's evaluator (duration() as Kubernetes parses it).
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KUBE = os.path.join(HERE, "kube.py")
NOMAD = os.path.join(HERE, "nomad.py")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app.kubernetes.io/name: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/name: web}
  template:
    metadata:
      labels: {app.kubernetes.io/name: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - {name: http, containerPort: 8080}
        resources:
          limits: {cpu: 500m, memory: 128Mi}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app.kubernetes.io/name: web}
  ports:
  - {name: http, port: 80, targetPort: http}
"""

HTTPROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: apps}
spec:
  parentRefs:
  - {name: public, namespace: gateways}
  hostnames: [web.example.com]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /}
    backendRefs:
    - {name: web, port: 80}
"""

SCALEDOBJECT = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  minReplicaCount: 1
  maxReplicaCount: 10
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "60"}
"""

REFERENCEGRANT = """\
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-routes, namespace: apps}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateways}
  to:
  - {group: "", kind: Service}
"""

VIRTUALSERVICE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: apps}
spec:
  hosts: [web.apps.svc.cluster.local]
  http:
  - name: canary
    match:
    - headers:
        x-canary: {exact: "true"}
        user-agent: {regex: ".*Mobile.*"}
    route:
    - destination: {host: web-canary.apps.svc.cluster.local, port: {number: 80}}
      weight: 10
    - destination: {host: web.apps.svc.cluster.local, subset: v2}
      weight: 90
    timeout: 5s
  - route:
    - destination: {host: web.apps.svc.cluster.local, port: {number: 80}}
"""

# a CRD for --crd: served v1beta1 and v1alpha1 (same schema), v1alpha0 not served
WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema: &schema
        type: object
        properties:
          spec:
            type: object
            required: [image]
            properties:
              image: {type: string, minLength: 1}
              tier: {type: string, enum: [free, pro], default: free}
              interval:
                type: string
                x-kubernetes-validations:
                - {rule: "duration(self) >= duration('1s')", message: must be at least 1s}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - {name: v1alpha1, served: true, storage: false, schema: {openAPIV3Schema: *schema}}
  - {name: v1alpha0, served: false, storage: false, schema: {openAPIV3Schema: *schema}}
"""

WIDGET = """\
apiVersion: example.com/v1beta1
kind: Widget
metadata: {name: blue, namespace: apps}
spec: {image: "nginx:1.27", tier: pro, interval: 30s}
"""

WIDGET_CRD_ARGS = ["--crd", "{tmp}/crd/widget.yaml"]

NOMAD_MINIMAL = {
    "Job": {
        "ID": "web",
        "Name": "web",
        "Type": "service",
        "Datacenters": ["dc1"],
        "TaskGroups": [{
            "Name": "web",
            "Count": 1,
            "Tasks": [{"Name": "web", "Driver": "docker", "Config": {"image": "nginx:1.27"}}],
        }],
    }
}

SECOND = 1_000_000_000
NOMAD_REALISTIC = {
    "Job": {
        "ID": "web", "Name": "web", "Type": "service", "Region": "global",
        "Namespace": "default", "Datacenters": ["dc1"], "Priority": 50,
        "Meta": {"managed-by": "ojek"},
        "Constraints": [{"LTarget": "${attr.kernel.name}", "Operand": "=", "RTarget": "linux"}],
        "Update": {"MaxParallel": 1, "MinHealthyTime": 10 * SECOND,
                   "HealthyDeadline": 300 * SECOND, "ProgressDeadline": 600 * SECOND,
                   "AutoRevert": True, "Canary": 0},
        "TaskGroups": [{
            "Name": "web", "Count": 2,
            "Networks": [{"Mode": "bridge", "DynamicPorts": [{"Label": "http", "To": 8080}]}],
            "Services": [{
                "Name": "web", "PortLabel": "http", "Provider": "nomad", "Tags": ["http"],
                "Checks": [{"Name": "alive", "Type": "http", "Path": "/healthz",
                            "Interval": 10 * SECOND, "Timeout": 2 * SECOND}],
            }],
            "RestartPolicy": {"Attempts": 2, "Interval": 1800 * SECOND,
                              "Delay": 15 * SECOND, "Mode": "fail"},
            "ReschedulePolicy": {"Delay": 30 * SECOND, "DelayFunction": "exponential",
                                 "MaxDelay": 3600 * SECOND, "Unlimited": True},
            "Scaling": {"Min": 1, "Max": 10, "Enabled": True,
                        "Policy": {"cooldown": "1m", "check": {"cpu": {"source": "nomad-apm"}}}},
            "Tasks": [{
                "Name": "web", "Driver": "docker",
                "Config": {"image": "nginx:1.27", "ports": ["http"]},
                "Env": {"PORT": "8080"},
                "Resources": {"CPU": 500, "MemoryMB": 256},
                "Templates": [{"EmbeddedTmpl": "A={{ env \"NOMAD_ALLOC_ID\" }}\n",
                               "DestPath": "local/app.env", "ChangeMode": "restart",
                               "Envvars": True}],
                "KillTimeout": 30 * SECOND,
            }],
        }],
    }
}

NOMAD_PERIODIC = copy.deepcopy(NOMAD_MINIMAL)
NOMAD_PERIODIC["Job"].update(
    Type="batch",
    Periodic={"Enabled": True, "Spec": "*/5 * * * *", "SpecType": "cron",
              "ProhibitOverlap": True, "TimeZone": "UTC"},
)


def _mutate(doc, fn):
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


def _rename_taskgroups(d):
    d["Job"]["TaskGroupz"] = d["Job"].pop("TaskGroups")


def _string_duration(d):
    d["Job"]["TaskGroups"][0]["Tasks"][0]["KillTimeout"] = "30s"


def _seconds_duration(d):
    d["Job"]["TaskGroups"][0]["Tasks"][0]["KillTimeout"] = 30


# (name, validator, {filename: content}, expect_ok, substring expected in output)
CASES = [
    ("kube: valid Deployment", KUBE, {"d.yaml": DEPLOYMENT}, True, "1 documents x 2 versions, 0 failed"),
    ("kube: Deployment with spec.replicaz", KUBE,
     {"d.yaml": DEPLOYMENT.replace("replicas:", "replicaz:")}, False, "replicaz"),
    ("kube: unknown kind Deploymnet", KUBE,
     {"d.yaml": DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet")}, False, "unknown kind"),
    ("kube: unknown apiVersion for a built-in kind", KUBE,
     {"d.yaml": DEPLOYMENT.replace("apps/v1", "apps/v1beta9")}, False, "unknown kind"),
    ("kube: valid HTTPRoute", KUBE, {"r.yaml": HTTPROUTE}, True, "0 failed"),
    ("kube: valid ScaledObject", KUBE, {"s.yaml": SCALEDOBJECT}, True, "0 failed"),
    ("kube: ScaledObject with unknown field", KUBE,
     {"s.yaml": SCALEDOBJECT + "  cooldownPeriodz: 30\n"}, False, "cooldownPeriodz"),
    ("kube: ScaledObject with unknown field in nested object", KUBE,
     {"s.yaml": SCALEDOBJECT.replace("{name: web}\n  min", "{name: web, knd: Deployment}\n  min")},
     False, "knd"),
    ("kube: ScaledObject min > max (CEL rule)", KUBE,
     {"s.yaml": SCALEDOBJECT.replace("minReplicaCount: 1", "minReplicaCount: 20")},
     False, "minReplicaCount"),
    ("kube: HTTPRoute with relative path (CEL rule)", KUBE,
     {"r.yaml": HTTPROUTE.replace("value: /}", "value: api}")}, False, "absolute path"),
    ("kube: HTTPRoute Service backendRef without port (CEL rule after defaulting)", KUBE,
     {"r.yaml": HTTPROUTE.replace("{name: web, port: 80}", "{name: web}")}, False, "port"),
    ("kube: HTTPRoute unknown field", KUBE,
     {"r.yaml": HTTPROUTE.replace("hostnames:", "hostname:")}, False, "hostname"),
    ("kube: CRD metadata without name", KUBE,
     {"s.yaml": SCALEDOBJECT.replace("metadata: {name: web}", "metadata: {labels: {a: b}}")},
     False, "metadata.name"),
    ("kube: invalid object name", KUBE,
     {"d.yaml": DEPLOYMENT.replace("name: web\n  labels", "name: Web_App\n  labels")},
     False, "metadata.name"),
    ("kube: duplicate YAML key", KUBE,
     {"d.yaml": DEPLOYMENT.replace("  replicas: 2\n", "  replicas: 2\n  replicas: 3\n")},
     False, "duplicate key"),
    ("kube: multi-document file and directory recursion", KUBE,
     {"all.yaml": "---\n".join([DEPLOYMENT, SERVICE, HTTPROUTE, SCALEDOBJECT]) + "---\n",
      "sub/more.yml": SERVICE},
     True, "5 documents x 2 versions, 0 failed"),
    ("kube: one bad document among good ones", KUBE,
     {"all.yaml": "---\n".join([DEPLOYMENT, SERVICE.replace("port: 80", "port: eighty")])},
     False, "doc 2 (Service/web)"),
    ("kube: no documents is a failure", KUBE, {"empty.yaml": "---\n"}, False, "0 documents"),
    ("kube: valid ReferenceGrant (v1beta1)", KUBE, {"g.yaml": REFERENCEGRANT}, True, "0 failed"),
    ("kube: ReferenceGrant with unknown field in to[]", KUBE,
     {"g.yaml": REFERENCEGRANT.replace("kind: Service}", "kind: Service, namespace: apps}")},
     False, "spec.to[0]: Additional properties are not allowed ('namespace' was unexpected)"),
    ("kube: ReferenceGrant without spec.from", KUBE,
     {"g.yaml": REFERENCEGRANT.replace(
         "  from:\n  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateways}\n",
         "")},
     False, "'from' is a required property"),
    ("kube: valid VirtualService (networking.istio.io/v1)", KUBE,
     {"v.yaml": VIRTUALSERVICE}, True, "1 documents x 2 versions, 0 failed"),
    ("kube: VirtualService with unknown field", KUBE,
     {"v.yaml": VIRTUALSERVICE.replace("timeout: 5s", "timout: 5s")}, False,
     "'timout' -> did you mean 'timeout'?"),
    ("kube: VirtualService timeout 0s (CEL duration rule)", KUBE,
     {"v.yaml": VIRTUALSERVICE.replace("timeout: 5s", "timeout: 0s")}, False,
     "spec.http[0].timeout: must be a valid duration greater than 1ms"),
    ("kube: VirtualService timeout 1h-1m (invalid for Go, CEL duration rule)", KUBE,
     {"v.yaml": VIRTUALSERVICE.replace("timeout: 5s", "timeout: 1h-1m")}, False,
     'unknown unit "h-" in duration "1h-1m"'),
    ("kube: VirtualService header match with exact and regex (oneOf)", KUBE,
     {"v.yaml": VIRTUALSERVICE.replace('{exact: "true"}', '{exact: "true", regex: "t.*"}')},
     False, "spec.http[0].match[0].headers.x-canary"),
    ("kube: Widget without --crd is an unknown kind", KUBE,
     {"w.yaml": WIDGET}, False, "unknown kind"),
    ("kube: --crd: valid Widget in both served versions; the CRD itself validated as built-in",
     KUBE, {"crd/widget.yaml": WIDGET_CRD,
            "w.yaml": WIDGET + "---\n" + WIDGET.replace("v1beta1", "v1alpha1")},
     True, "3 documents x 2 versions, 0 failed", WIDGET_CRD_ARGS),
    ("kube: --crd: Widget without required spec.image", KUBE,
     {"crd/widget.yaml": WIDGET_CRD, "w.yaml": WIDGET.replace('image: "nginx:1.27", ', "")},
     False, "(Widget/blue) v1.33: spec: 'image' is a required property", WIDGET_CRD_ARGS),
    ("kube: --crd: Widget spec.tier not in the enum", KUBE,
     {"crd/widget.yaml": WIDGET_CRD, "w.yaml": WIDGET.replace("tier: pro", "tier: gold")},
     False, "spec.tier: 'gold' is not one of ['free', 'pro']", WIDGET_CRD_ARGS),
    ("kube: --crd: Widget spec.interval below the CEL minimum", KUBE,
     {"crd/widget.yaml": WIDGET_CRD, "w.yaml": WIDGET.replace("interval: 30s", "interval: 500ms")},
     False, "spec.interval: must be at least 1s", WIDGET_CRD_ARGS),
    ("kube: --crd: Widget with unknown field", KUBE,
     {"crd/widget.yaml": WIDGET_CRD, "w.yaml": WIDGET.replace("tier: pro", "tire: pro")},
     False, "'tire' -> did you mean 'tier'?", WIDGET_CRD_ARGS),
    ("kube: --crd: a version with served: false is not registered", KUBE,
     {"crd/widget.yaml": WIDGET_CRD, "w.yaml": WIDGET.replace("v1beta1", "v1alpha0")},
     False, "unknown kind", WIDGET_CRD_ARGS),
    ("kube: --crd: a bad CRD document given as FILE_OR_DIR fails as a built-in CRD", KUBE,
     {"crd/widget.yaml": WIDGET_CRD.replace("  scope: Namespaced\n",
                                            "  scope: Namespaced\n  scopes: [x]\n"),
      "w.yaml": WIDGET},
     False, "(CustomResourceDefinition/widgets.example.com) v1.33: spec: Additional properties",
     WIDGET_CRD_ARGS),
    ("kube: --crd with a file holding no CRD is a usage error", KUBE,
     {"crd/widget.yaml": WIDGET, "w.yaml": WIDGET}, 2, "no CustomResourceDefinition",
     WIDGET_CRD_ARGS),
    ("nomad: valid minimal job", NOMAD, {"j.json": json.dumps(NOMAD_MINIMAL)}, True, "1 jobs, 0 failed"),
    ("nomad: valid realistic job", NOMAD, {"j.json": json.dumps(NOMAD_REALISTIC)}, True, "0 failed"),
    ("nomad: valid periodic batch job", NOMAD, {"j.json": json.dumps(NOMAD_PERIODIC)}, True, "0 failed"),
    ("nomad: TaskGroupz", NOMAD,
     {"j.json": json.dumps(_mutate(NOMAD_MINIMAL, _rename_taskgroups))}, False, "TaskGroupz"),
    ("nomad: duration as string", NOMAD,
     {"j.json": json.dumps(_mutate(NOMAD_REALISTIC, _string_duration))}, False, "KillTimeout"),
    ("nomad: duration in seconds instead of ns", NOMAD,
     {"j.json": json.dumps(_mutate(NOMAD_REALISTIC, _seconds_duration))}, False, "nanoseconds"),
    ("nomad: not wrapped in {\"Job\": ...}", NOMAD,
     {"j.json": json.dumps(NOMAD_MINIMAL["Job"])}, False, '"Job"'),
    ("nomad: no files is a failure", NOMAD, {"README.txt": "nothing"}, False, "0 jobs"),
]


def run_case(name, script, files, expect_ok, expect_text, extra_args=()):
    """expect_ok: True (exit 0), False (exit 1) or an exit status; "{tmp}" in extra_args
    stands for the directory holding the files."""
    with tempfile.TemporaryDirectory(prefix="ojek-validate-") as tmp:
        for rel, content in files.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
        args = [sys.executable, script]
        if script == KUBE:
            args += ["--versions", "1.33,1.37"]
        args += [a.replace("{tmp}", tmp) for a in extra_args]
        proc = subprocess.run(args + [tmp], capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    problems = []
    want = 0 if expect_ok is True else 1 if expect_ok is False else expect_ok
    if proc.returncode != want:
        problems.append("expected exit %d, got %d" % (want, proc.returncode))
    if expect_text not in out:
        problems.append("expected %r in output" % expect_text)
    if problems:
        print("FAIL %s: %s\n%s" % (name, "; ".join(problems),
                                   "".join("    | " + line + "\n" for line in out.splitlines())))
        return False
    print("ok   %s" % name)
    return True


# (rule, value of self, expected: True, False or "error: <text the error contains>")
DURATION_RULE = "duration(self) >= duration('1ms')"  # as in Istio's VirtualService
CEL_CASES = [
    (DURATION_RULE, "5s", True),
    (DURATION_RULE, "1ms", True),
    (DURATION_RULE, "0s", False),
    (DURATION_RULE, "0", False),
    (DURATION_RULE, "-5s", False),
    (DURATION_RULE, "999999ns", False),  # exact to the nanosecond
    (DURATION_RULE, "1000000ns", True),
    (DURATION_RULE, "1h30m", True),
    (DURATION_RULE, "1.5h", True),
    (DURATION_RULE, ".5s", True),
    (DURATION_RULE, "500\u00b5s", False),  # Go takes both micro signs, U+00B5 and U+03BC
    (DURATION_RULE, "5000\u03bcs", True),
    (DURATION_RULE, "2562047h47m16.854775807s", True),  # the largest int64 nanoseconds
    (DURATION_RULE, "2562047h47m16.854775808s", "error: invalid duration"),
    (DURATION_RULE, "1h-1m", 'error: unknown unit "h-"'),
    (DURATION_RULE, "1d", 'error: unknown unit "d"'),
    (DURATION_RULE, "5", "error: missing unit"),
    (DURATION_RULE, "", "error: invalid duration"),
    (DURATION_RULE, " 5s", "error: invalid duration"),
    ("duration('1m') == duration('60s')", None, True),
    ("duration(self) + duration('1ns') > duration(self)", "1s", True),
    ("string(duration(self)) == '1m30s'", "90s", True),
    ("duration(self) < duration('-1s')", "-1.5s", True),
    # only calls of the global duration() are rewritten, not string literals
    ("'duration(x)' + r'duration(' + \"\"\"duration(\"\"\" == 'duration(x)duration(duration('",
     None, True),
    ("self.size() > 0 && duration (self) > duration ('1s')", "2s", True),
]


def run_cel_cases():
    """Evaluate CEL_CASES with kube.py's evaluator; return (passed, failed)."""
    try:
        sys.path.insert(0, HERE)
        import kube  # needs the Python deps, like kube.py itself
    except (ImportError, SystemExit) as exc:
        print("FAIL cel: cannot import kube.py: %r" % exc)
        return 0, 1
    if kube.cel is None:
        print("FAIL cel: Python package common-expression-language is not installed")
        return 0, 1
    passed = failed = 0
    for rule, value, expected in CEL_CASES:
        name = "cel: %s with self=%r -> %s" % (rule, value, expected)
        try:
            got = kube.eval_cel_rule(rule, value)
        except Exception as exc:  # an evaluation error
            got = "error: %s" % exc
        if isinstance(expected, str):
            ok = isinstance(got, str) and expected[len("error: "):] in got
        else:
            ok = got is expected
        if ok:
            print("ok   %s" % name)
            passed += 1
        else:
            print("FAIL %s: got %r" % (name, got))
            failed += 1
    return passed, failed


def main():
    passed = failed = 0
    for case in CASES:
        if run_case(*case):
            passed += 1
        else:
            failed += 1
    p, f = run_cel_cases()
    passed, failed = passed + p, failed + f
    print("self-test: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
