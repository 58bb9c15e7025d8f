"""A real 2-node Ray cluster on this machine runs the scoring job submitted with `ray job submit`.

Head: `ray start --head` on 127.0.0.1 (dashboard included, 1 CPU). Second node: `ray start
--address` on 127.0.0.1 with its own custom resource label `worker_node` (1 CPU). Each node has
its own `--temp-dir` (Ray 2.60 allows one per node) and its own ports, so neither the shared
in-process Ray session of the other tests nor another engineer's cluster is touched. The job's
tasks must have run on both nodes (Ray's state API), and the output must hold one row per
input (gem_core.report_store).

Loopback only: with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 every Ray listener binds 127.0.0.1, but
Ray's CLI then refuses `ray start --address` ("multi-node clusters are not supported"), and with
it set to 1 the CLI rewrites 127.0.0.1 to the machine's external address and the node listens on
all interfaces. So the second node runs Ray's own `ray start` command with one switch flipped in
its process (multi-node allowed, addresses kept on loopback); its raylet, agents and workers
inherit the =0 environment and bind 127.0.0.1 like the head's.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import _free_port as free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).with_name("ray"))

# `ray start` (Ray's CLI, unchanged) for a node that joins a loopback head: see the docstring.
JOIN_ON_LOOPBACK = """
import sys
import ray._private.ray_constants as ray_constants
import ray._private.services as services
from ray._common.network_utils import get_localhost_ip
ray_constants.ENABLE_RAY_CLUSTER = True                                 # allow joining a head
services.get_node_ip_address = lambda address=None: get_localhost_ip()  # ...on 127.0.0.1
from ray.scripts.scripts import main
sys.argv[0] = "ray"
sys.exit(main())
"""


def node_ports() -> list[str]:
    return ["--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()),
            "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port())]


def wait_for(what: str, check, timeout: float, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: `ray start` exited with {p.returncode}")
        try:
            value = check()
            if value:
                return value
        except Exception:
            pass
        time.sleep(1.0)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen, temp_dir: str) -> None:
    """SIGTERM `ray start --block` (it then stops its node's processes: no drain, see
    RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S), SIGKILL its process group if it lingers, then any
    process still naming this node's temp dir. Never `ray stop`: it stops every Ray here."""
    import psutil

    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the daemons share the group; gone if all stopped
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
    for p in psutil.process_iter(["pid", "cmdline"]):
        if any(temp_dir in a for a in (p.info["cmdline"] or [])):
            try:
                p.kill()
            except psutil.Error:
                pass


@pytest.fixture
def two_node_cluster():
    # Short root: Ray's Unix sockets live under it (108-byte path limit).
    root = tempfile.mkdtemp(prefix="gemrc-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="disabled", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
               RAY_USAGE_STATS_ENABLED="0", RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0")
    gcs, dash = free_port(), free_port()
    head_dir, worker_dir = f"{root}/h", f"{root}/w"
    procs = []
    try:
        head = subprocess.Popen(
            [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
             "--num-cpus", "1", "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
             "--dashboard-port", str(dash), "--ray-client-server-port", str(free_port()),
             "--temp-dir", head_dir, "--disable-usage-stats", *node_ports()],
            env=env, stdout=open(f"{root}/head.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        procs.append((head, head_dir))
        dashboard = f"http://127.0.0.1:{dash}"
        wait_for("head dashboard", lambda: urllib.request.urlopen(f"{dashboard}/api/version", timeout=2).status == 200,
                 120, [head])
        worker = subprocess.Popen(
            [sys.executable, "-c", JOIN_ON_LOOPBACK, "start", "--block", "--address", f"127.0.0.1:{gcs}",
             "--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--resources", '{"worker_node": 1}',
             "--temp-dir", worker_dir, "--disable-usage-stats", *node_ports()],
            env=env, stdout=open(f"{root}/worker.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        procs.append((worker, worker_dir))

        from ray.util.state import list_nodes

        wait_for("two alive nodes", lambda: len([n for n in list_nodes(address=dashboard)
                                                  if n.state == "ALIVE"]) == 2, 120, [head, worker])
        yield {"dashboard": dashboard, "root": Path(root), "env": env, "gcs": f"127.0.0.1:{gcs}"}
    finally:
        for proc, temp_dir in reversed(procs):
            stop(proc, temp_dir)
        shutil.rmtree(root, ignore_errors=True)


def listeners_outside_loopback(pids: set[int]) -> list[str]:
    import psutil

    out = []
    for c in psutil.net_connections(kind="inet"):
        if c.status == psutil.CONN_LISTEN and c.pid in pids and c.laddr.ip not in ("127.0.0.1", "::ffff:127.0.0.1"):
            out.append(f"{c.laddr.ip}:{c.laddr.port} (pid {c.pid})")
    return out


def test_scoring_job_on_two_nodes(two_node_cluster, shared_ecg):
    import psutil
    from ray.util.state import list_actors, list_nodes, list_tasks

    from gem_core.archive import list_inputs
    from gem_core.report_store import ReportStore

    c = two_node_cluster
    dashboard, root = c["dashboard"], c["root"]

    # Both nodes up, on loopback, the second one carrying its label; nothing listens elsewhere.
    nodes = {n.node_id: n for n in list_nodes(address=dashboard, detail=True)}
    assert len(nodes) == 2 and {n.node_ip for n in nodes.values()} == {"127.0.0.1"}
    labelled = [nid for nid, n in nodes.items() if n.resources_total.get("worker_node") == 1]
    head_id = next(nid for nid, n in nodes.items() if n.is_head_node)
    assert len(labelled) == 1 and labelled[0] != head_id
    ours = {p.pid for p in psutil.process_iter(["cmdline"])
            if any(str(root) in a for a in (p.info["cmdline"] or []))}
    assert ours and listeners_outside_loopback(ours) == []

    # Inputs: the shared real records (mitdb/100 has 2 leads: an error row) twice over, so
    # that the job has several ECGs to place.
    archive = root / "archive"
    for copy in ("a", "b"):
        for folder in ("ptb", "ptbxl", "mitdb"):
            shutil.copytree(shared_ecg / folder, archive / copy / folder)
    expected_ids = {r.record_id for r in list_inputs(input_uri=str(archive))}
    assert len(expected_ids) == 6
    from gem_core.model.tiny import save_gem_tiny

    model = root / "gem-tiny"
    save_gem_tiny(model, seed=0)   # a real checkpoint in the published layout
    output = root / "reports"

    # Submitted exactly as on a real cluster. The inference actor asks for half a CPU so it
    # shares no fused worker with the 1-CPU preparation tasks, which then need the other node.
    cmd = [RAY, "job", "submit", "--address", dashboard,
           "--runtime-env", str(REPO / "cluster" / "runtime_env.yaml"), "--",
           sys.executable, "-m", "jobs.score", "--input", str(archive), "--output", str(output),
           "--model", str(model), "--max-new-tokens", "8", "--cpus-per-worker", "0.5",
           "--data-dir", str(root / "data"), "--tracking-uri", f"sqlite:///{root}/mlflow.db", "--json"]
    t0 = time.monotonic()
    job = subprocess.run(cmd, env=c["env"], capture_output=True, text=True, timeout=900)
    log = job.stdout + job.stderr
    assert job.returncode == 0, log[-6000:]
    assert "succeeded" in log.lower(), log[-3000:]
    print(f"ray job submit: {time.monotonic() - t0:.1f} s")

    # The output is complete: one row per input, committed.
    table = ReportStore(str(output)).read()
    assert table is not None
    ids = table.column("record_id").to_pylist()
    assert sorted(ids) == sorted(expected_ids) and len(ids) == len(set(ids))
    status = dict(zip(ids, table.column("status").to_pylist()))
    assert {i for i, s in status.items() if s == "error"} == {"a/mitdb/100", "b/mitdb/100"}
    summary = json.loads(next(line for line in reversed(job.stdout.splitlines()) if line.startswith('{"run_id"')))
    assert summary["counts"]["rows"] == 6 and summary["counts"]["inputs"] == 6

    # The submitted job's MLflow run holds its params, metrics (overall and per stage, errors,
    # grounding-score distribution) and artifacts (the run manifest).
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("gem-ecg-scoring").experiment_id])
    for param in ("model", "model_name", "model_version", "input", "batch_size", "prompt_measurements"):
        assert param in run.data.params, param
    for metric in ("ecgs_per_s", "errors", "prepare_ecgs_per_s_per_worker", "infer_ecgs_per_s_per_worker",
                   "verify_ecgs_per_s_per_worker", "grounding_score_p10", "grounding_score_p50"):
        assert metric in run.data.metrics, metric
    assert run.data.metrics["errors"] == 2 and run.data.params["input"] == str(archive)
    assert "run_manifest.json" in {a.path for a in client.list_artifacts(run.info.run_id)}

    # The run's own stage times are a sizing source: `sizing.py record --from-reports`.
    figures = root / "figures.json"
    rec = subprocess.run([sys.executable, str(REPO / "cluster" / "sizing.py"), "record", "job_prepare",
                          "--from-reports", str(output), "--column", "t_prepare_s", "--kind", "cpu",
                          "--stages", "read,prepare,measure,render", "--source", "gem-ecg score (2 nodes)",
                          "--figures", str(figures)], capture_output=True, text=True, timeout=120)
    assert rec.returncode == 0, rec.stderr
    ok_secs = [t for t, s in zip(table.column("t_prepare_s").to_pylist(), table.column("status").to_pylist())
               if s == "ok"]
    entry = json.loads(figures.read_text())["figures"]["job_prepare"]
    assert entry["value"] == pytest.approx(1 / statistics.median(ok_secs), rel=1e-5)
    assert entry["read"] == "1 / median t_prepare_s over 4 ok rows"

    # Where the work ran, from Ray's state API (task events reach the GCS within seconds).
    def pipeline_tasks():
        tasks = [t for t in list_tasks(address=dashboard, detail=True, limit=10_000)
                 if "MapBatches" in t.name or "MapWorker" in t.name]
        done = [t for t in tasks if t.state == "FINISHED" and t.node_id]
        return done if {t.node_id for t in done} == set(nodes) else None

    try:
        tasks = wait_for("tasks on both nodes", pipeline_tasks, 30)
    except TimeoutError:
        tasks = list_tasks(address=dashboard, detail=True, limit=10_000)
        raise AssertionError("pipeline tasks did not run on both nodes: " + repr(collections.Counter(
            (t.name, "head" if t.node_id == head_id else "worker_node", t.state) for t in tasks)))
    by_node = collections.Counter(("head" if t.node_id == head_id else "worker_node", t.name) for t in tasks)
    print("tasks per node:", dict(by_node))
    prepare_nodes = {t.node_id for t in tasks if "prepare_batch" in t.name}
    gem_actors = [a for a in list_actors(address=dashboard, detail=True) if "GemInference" in a.class_name]
    assert prepare_nodes and gem_actors
    assert {a.node_id for a in gem_actors} | prepare_nodes == set(nodes)
