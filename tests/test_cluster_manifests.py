"""cluster/: the KubeRay RayJob manifests and the cluster-launcher YAML parse, carry the fields
KubeRay / the Ray autoscaler read, use no field those do not know, pass the job options the
CLI really has, and hold no secret value.

Field names are those of the KubeRay v1 API (ray-operator/apis/ray/v1/rayjob_types.go and
raycluster_types.go, json tags); the launcher YAML is validated against the schema Ray itself
ships (ray/autoscaler/ray-schema.json).
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

CLUSTER = Path(__file__).resolve().parents[1] / "cluster"
RAYJOBS = ["rayjob-score.yaml", "rayjob-retrain.yaml"]
LAUNCHER = "launcher-aws-gpu.yaml"

# Paths every RayJob here must carry (dotted; a list is entered by the next key for each item).
RAYJOB_REQUIRED = [
    "apiVersion", "kind", "metadata.name",
    "spec.entrypoint", "spec.runtimeEnvYAML", "spec.shutdownAfterJobFinishes",
    "spec.ttlSecondsAfterFinished", "spec.backoffLimit", "spec.activeDeadlineSeconds",
    "spec.rayClusterSpec.rayVersion",
    "spec.rayClusterSpec.headGroupSpec.rayStartParams",
    "spec.rayClusterSpec.headGroupSpec.template.spec.containers",
    "spec.rayClusterSpec.workerGroupSpecs",
]
WORKER_GROUP_REQUIRED = ["groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams",
                         "template.spec.containers"]
CONTAINER_REQUIRED = ["name", "image", "resources.requests.cpu", "resources.requests.memory",
                      "resources.limits.cpu", "resources.limits.memory"]

# Every key KubeRay v1 knows at these levels: a typo (say `shutdownAfterJobFinish`) is ignored
# by a lenient apply and silently changes behaviour, so it must fail here.
RAYJOB_SPEC_FIELDS = {
    "activeDeadlineSeconds", "backoffLimit", "rayClusterSpec", "submitterPodTemplate", "metadata",
    "clusterSelector", "submitterConfig", "managedBy", "deletionStrategy", "entrypoint",
    "runtimeEnvYAML", "jobId", "submissionMode", "entrypointResources", "entrypointNumCpus",
    "entrypointNumGpus", "ttlSecondsAfterFinished", "shutdownAfterJobFinishes", "suspend", "schedule",
}
RAYCLUSTER_SPEC_FIELDS = {
    "upgradeStrategy", "authOptions", "suspend", "managedBy", "autoscalerOptions",
    "headServiceAnnotations", "enableInTreeAutoscaling", "gcsFaultToleranceOptions",
    "historyServerOptions", "networkPolicy", "tlsOptions", "headGroupSpec", "rayVersion",
    "workerGroupSpecs",
}
HEAD_GROUP_FIELDS = {"serviceType", "headService", "enableIngress", "rayStartParams", "template"}
WORKER_GROUP_FIELDS = {"groupName", "replicas", "minReplicas", "maxReplicas", "numOfHosts",
                       "rayStartParams", "template", "scaleStrategy"}
AUTH_OPTIONS_FIELDS = {"mode", "secretName", "enableK8sTokenAuth"}
SUBMITTER_CONFIG_FIELDS = {"backoffLimit"}

# Environment variables that carry credentials: they must come from a Secret.
SECRET_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_USERNAME",
              "MLFLOW_TRACKING_PASSWORD"}
SECRETISH_NAME = re.compile(
    r"(?i)(^|_)(secret|password|passwd|pass|token|credentials?|private_key|access_key|api_key)(_|$)")
SECRET_VALUE_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "40-character secret key": re.compile(r"(?<![A-Za-z0-9/+=_.-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_.-])"),
    "password assignment": re.compile(r"(?i)\bpass(word)?\s*[:=]\s*[\"']?[^\s\"'{}$]{3,}"),
    "credentials in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GitHub / Slack token": re.compile(r"\b(ghp_[A-Za-z0-9]{20,}|xox[bp]-[A-Za-z0-9-]{10,})"),
    "Kubernetes Secret with data": re.compile(r"(?m)^kind:\s*Secret\b"),
}


def load(name: str):
    with open(CLUSTER / name) as f:
        return yaml.safe_load(f)


def get(doc, path: str):
    """Value at a dotted path (KeyError naming the path when absent)."""
    cur = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(path)
        cur = cur[part]
    return cur


def missing(doc, paths) -> list[str]:
    out = []
    for p in paths:
        try:
            get(doc, p)
        except KeyError:
            out.append(p)
    return out


def containers(job) -> list[tuple[str, dict]]:
    rcs = job["spec"]["rayClusterSpec"]
    out = [("head", c) for c in rcs["headGroupSpec"]["template"]["spec"]["containers"]]
    for g in rcs["workerGroupSpecs"]:
        out += [(g["groupName"], c) for c in g["template"]["spec"]["containers"]]
    return out


def custom_resources(ray_start_params: dict) -> dict:
    """KubeRay's `resources` rayStartParam: a JSON object inside a quoted string."""
    raw = ray_start_params.get("resources")
    if raw is None:
        return {}
    inner = json.loads(raw) if raw.startswith('"') else raw
    return json.loads(inner)


def secret_findings(text: str) -> list[str]:
    return [name for name, pat in SECRET_VALUE_PATTERNS.items() if pat.search(text)]


def env_problems(where: str, env: list[dict]) -> list[str]:
    """Credentials only through secretKeyRef; no literal value under a secret-looking name."""
    problems = []
    for e in env:
        name = e["name"]
        if "value" in e and (SECRETISH_NAME.search(name) or name in SECRET_ENV):
            problems.append(f"{where}: {name} has a literal value")
        if name in SECRET_ENV and "secretKeyRef" not in e.get("valueFrom", {}):
            problems.append(f"{where}: {name} does not come from a secretKeyRef")
    return problems


# -- RayJobs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", RAYJOBS)
def test_rayjob_has_kuberay_fields(name):
    job = load(name)
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert missing(job, RAYJOB_REQUIRED) == []
    spec, rcs = job["spec"], job["spec"]["rayClusterSpec"]
    assert set(spec) <= RAYJOB_SPEC_FIELDS, set(spec) - RAYJOB_SPEC_FIELDS
    assert set(rcs) <= RAYCLUSTER_SPEC_FIELDS, set(rcs) - RAYCLUSTER_SPEC_FIELDS
    assert set(rcs["headGroupSpec"]) <= HEAD_GROUP_FIELDS
    assert set(rcs.get("authOptions", {})) <= AUTH_OPTIONS_FIELDS
    assert set(spec.get("submitterConfig", {})) <= SUBMITTER_CONFIG_FIELDS
    assert spec["shutdownAfterJobFinishes"] is True
    assert rcs["rayVersion"].startswith("2.60")  # the Ray the project pins

    # rayStartParams is map[string]string in the CRD: a bare number or bool is rejected.
    groups = [rcs["headGroupSpec"], *rcs["workerGroupSpecs"]]
    for g in groups:
        assert all(isinstance(v, str) for v in g["rayStartParams"].values()), g["rayStartParams"]
    assert rcs["headGroupSpec"]["rayStartParams"].get("num-cpus") == "0"  # the head only drives

    names = [g["groupName"] for g in rcs["workerGroupSpecs"]]
    assert len(set(names)) == len(names)
    for g in rcs["workerGroupSpecs"]:
        assert set(g) <= WORKER_GROUP_FIELDS, set(g) - WORKER_GROUP_FIELDS
        assert missing(g, WORKER_GROUP_REQUIRED) == [], g["groupName"]
        assert 0 <= g["minReplicas"] <= g["replicas"] <= g["maxReplicas"], g["groupName"]
    for where, c in containers(job):
        assert missing(c, CONTAINER_REQUIRED) == [], where
        assert c["image"] == containers(job)[0][1]["image"], "one image on every node"

    # Heterogeneous nodes: a CPU group without GPUs and a GPU group asking for nvidia.com/gpu,
    # each advertising its own custom resource label to the Ray scheduler.
    gpu_groups = [g for g in rcs["workerGroupSpecs"]
                  if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    cpu_groups = [g for g in rcs["workerGroupSpecs"] if g not in gpu_groups]
    assert gpu_groups and cpu_groups
    for g in gpu_groups:
        res = g["template"]["spec"]["containers"][0]["resources"]
        assert int(res["limits"]["nvidia.com/gpu"]) >= 1
        assert res["requests"].get("nvidia.com/gpu") == res["limits"]["nvidia.com/gpu"]
        assert any(t.get("key") == "nvidia.com/gpu" for t in g["template"]["spec"].get("tolerations", []))
    labels = [set(custom_resources(g["rayStartParams"])) for g in rcs["workerGroupSpecs"]]
    assert all(labels) and len(set(map(frozenset, labels))) == len(labels), labels


@pytest.mark.parametrize("name", RAYJOBS)
def test_rayjob_runtime_env_matches_the_submit_file(name):
    """The RayJob's runtimeEnvYAML and cluster/runtime_env.yaml (used with `ray job submit`)
    say the same thing, and neither carries a secret-looking variable."""
    env = yaml.safe_load(load(name)["spec"]["runtimeEnvYAML"])
    assert env == load("runtime_env.yaml")
    assert env["env_vars"]["HF_HUB_OFFLINE"] == "1"
    assert not [k for k in env["env_vars"] if SECRETISH_NAME.search(k)]


@pytest.mark.parametrize("name", RAYJOBS)
def test_rayjob_settings_and_secrets_come_from_kubernetes_objects(name):
    job = load(name)
    configmap = load("gem-ecg-settings.yaml")
    assert configmap["kind"] == "ConfigMap"
    assert not [k for k in configmap["data"] if SECRETISH_NAME.search(k)]
    for where, c in containers(job):
        refs = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
        assert configmap["metadata"]["name"] in refs, where
        env = c.get("env", [])
        assert env_problems(where, env) == []
        assert SECRET_ENV <= {e["name"] for e in env}, where
        for e in env:
            if "valueFrom" in e:
                ref = e["valueFrom"]["secretKeyRef"]
                assert ref["name"] and ref["key"] == e["name"]


def test_score_entrypoint_is_a_valid_score_command():
    """The entrypoint's options are the scoring CLI's own (parsed by its real parser), and
    it asks for what the GPU group offers."""
    from jobs.cli import build_parser

    job = load("rayjob-score.yaml")
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[:3] == ["python", "-m", "jobs.score"]
    args = build_parser().parse_args(["score", *argv[3:]])
    assert args.model.startswith("models:/") and args.incremental
    assert args.output.startswith("s3://") and (args.input or args.manifest or "").startswith("s3://")
    gpu = next(g for g in job["spec"]["rayClusterSpec"]["workerGroupSpecs"] if g["groupName"] == "gpu-gem")
    gpus_per_pod = int(gpu["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
    cpus_per_pod = int(gpu["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])
    assert args.num_gpus_per_worker == 1
    assert args.workers <= gpu["maxReplicas"] * gpus_per_pod   # every actor can get its GPU
    assert args.cpus_per_worker * gpus_per_pod <= cpus_per_pod


def test_retrain_entrypoint_is_a_valid_retrain_command():
    from jobs.cli import build_parser

    argv = shlex.split(load("rayjob-retrain.yaml")["spec"]["entrypoint"])
    assert argv[:2] == ["gem-ecg", "retrain"]
    assert {"--reports", "--base", "--registry-name", "--use-gpu"} <= set(argv)
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    if "retrain" not in verbs:
        pytest.skip("the retrain verb (issue 8) is not built yet: options checked by name only")
    args = parser.parse_args(argv[1:])
    job = load("rayjob-retrain.yaml")
    gpu = next(g for g in job["spec"]["rayClusterSpec"]["workerGroupSpecs"] if g["groupName"] == "gpu-train")
    assert args.workers <= gpu["maxReplicas"]


# -- cluster launcher --------------------------------------------------------------------------

def test_launcher_yaml_is_valid_for_ray():
    import os

    import jsonschema
    import ray.autoscaler

    cfg = load(LAUNCHER)
    with open(os.path.join(os.path.dirname(ray.autoscaler.__file__), "ray-schema.json")) as f:
        jsonschema.validate(cfg, json.load(f))   # Ray's own schema for `ray up`
    assert cfg["cluster_name"] and cfg["provider"]["type"] == "aws"
    types = cfg["available_node_types"]
    assert cfg["head_node_type"] in types
    assert types[cfg["head_node_type"]]["resources"].get("CPU") == 0   # the head only drives
    standard = {"CPU", "GPU", "memory", "object_store_memory"}
    workers = {k: v for k, v in types.items() if k != cfg["head_node_type"]}
    gpu_types = [k for k, v in workers.items() if v["resources"].get("GPU", 0) > 0]
    cpu_types = [k for k, v in workers.items() if not v["resources"].get("GPU")]
    assert gpu_types and cpu_types
    for k, v in workers.items():
        assert set(v["resources"]) - standard, f"{k} has no custom resource label"
        assert v["min_workers"] <= v["max_workers"] <= cfg["max_workers"]
        assert "IamInstanceProfile" in v["node_config"], f"{k}: S3 access by instance role"
    # Env given to the containers: no credentials among them.
    for opt in cfg["docker"]["run_options"]:
        m = re.match(r"--env\s+([A-Za-z_][A-Za-z0-9_]*)=", opt)
        if m:
            assert not SECRETISH_NAME.search(m.group(1)), opt


# -- no secret anywhere ------------------------------------------------------------------------

def test_no_secret_value_in_any_cluster_file():
    files = sorted(p for p in CLUSTER.iterdir() if p.suffix in {".yaml", ".yml", ".json", ".md", ".py"}
                   or p.name == "Dockerfile")
    assert len(files) >= 6
    found = {p.name: secret_findings(p.read_text()) for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_secret_checks_catch_planted_secrets():
    """The scanners above are not vacuous: each pattern fires on a planted value, and the env
    check refuses a literal credential."""
    planted = {
        "AWS access key id": "AWS_ACCESS_KEY_ID: AKIA" + "ABCDEFGHIJKLMNOP",
        "40-character secret key": "key: " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
        "password assignment": "password: " + "hunter22",
        "credentials in a URL": "uri: https://alice:" + "s3cr3t@mlflow.example",
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "GitHub / Slack token": "ghp_" + "a" * 30,
        "Kubernetes Secret with data": "kind: Secret\nstringData: {}",
    }
    for name, text in planted.items():
        assert name in secret_findings(text), name
    assert env_problems("x", [{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"}])
    assert env_problems("x", [{"name": "MLFLOW_TRACKING_PASSWORD",
                               "valueFrom": {"configMapKeyRef": {"name": "a", "key": "b"}}}])
    assert env_problems("x", [{"name": "AWS_SECRET_ACCESS_KEY",
                               "valueFrom": {"secretKeyRef": {"name": "a", "key": "b"}}}]) == []
