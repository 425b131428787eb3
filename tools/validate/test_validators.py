#!/usr/bin/env python3
"""Self-test of kube.py and nomad.py: good documents must pass, bad ones must fail.

Run: python3 tools/validate/test_validators.py   (exit status 1 when any case fails)
Prints "self-test: N passed, M failed" as its last line.
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


def run_case(name, script, files, expect_ok, expect_text):
    with tempfile.TemporaryDirectory(prefix="ojek-validate-") as tmp:
        for rel, content in files.items():
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
        args = [sys.executable, script]
        if script == KUBE:
            args += ["--versions", "1.33,1.37"]
        proc = subprocess.run(args + [tmp], capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    problems = []
    if expect_ok and proc.returncode != 0:
        problems.append("expected exit 0, got %d" % proc.returncode)
    if not expect_ok and proc.returncode != 1:
        problems.append("expected exit 1, got %d" % proc.returncode)
    if expect_text not in out:
        problems.append("expected %r in output" % expect_text)
    if problems:
        print("FAIL %s: %s\n%s" % (name, "; ".join(problems),
                                   "".join("    | " + line + "\n" for line in out.splitlines())))
        return False
    print("ok   %s" % name)
    return True


def main():
    passed = failed = 0
    for case in CASES:
        if run_case(*case):
            passed += 1
        else:
            failed += 1
    print("self-test: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
