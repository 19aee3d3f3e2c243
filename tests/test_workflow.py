"""The Snakemake workflow: dry run, lint, bad configuration, and the small configuration end to
end (golden models to report), including a look at the report in a real browser and the same run
through a real one-node SLURM cluster."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import import_or_unavailable, unavailable

from spikemem.encodings import REGISTRY

# The workflow profile re-checks its rate limit every 20 s, which can keep Snakemake up to 20 s after
# the last job (profiles/default/config.yaml); the tests' runs are small, so a short re-check costs
# little and keeps them from waiting.
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--max-jobs-per-timespan", "1000/2s"]
SOURCES = ("Snakefile", "rules", "config", "pdk_configs", "spikemem", "envs", "templates", "analysis", "profiles")


def run(args, cwd, **kw):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, **kw)


def copy_workflow(root: Path, dst: Path) -> Path:
    """A copy of the workflow's sources, so tests never touch the checkout's results/."""
    dst.mkdir(parents=True)
    for item in SOURCES:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / item)
    return dst


@pytest.fixture()
def workdir(root, tmp_path) -> Path:
    return copy_workflow(root, tmp_path / "wf")


# The umask of the small run: group and others may read what it writes (test_small_run_files_are_readable_by_others).
SMALL_RUN_UMASK = 0o022


# Session scope, not module scope: the worker that runs the small-run group also runs tests of other
# modules in between, and pytest may tear a module fixture down when the next test belongs to another
# module. (The small run built twice in CI, about 700 s each, was the group split over both workers:
# see tests/conftest.py.)
@pytest.fixture(scope="session")
def small_run(root, tmp_path_factory):
    """The whole workflow on config/test_small.yaml, once per test session (worker)."""
    wf = copy_workflow(root, tmp_path_factory.mktemp("small") / "wf")
    out = run(
        ["--cores", "2", "all", "--configfile", "config/test_small.yaml"],
        cwd=wf,
        env={**os.environ},
        timeout=2400,
        umask=SMALL_RUN_UMASK,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    return wf


def test_dry_run_all(workdir):
    out = run(["-n", "all", "--quiet"], cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]


def test_lint(workdir):
    out = run(["--lint"], cwd=workdir)
    assert out.returncode == 0, out.stdout[-3000:]


def test_slurm_profile_dry_run(workdir):
    """The cluster profile resolves every rule's resources (a real SLURM run: see README)."""
    import_or_unavailable("snakemake_executor_plugin_slurm")
    out = run(["--profile", "profiles/slurm", "-n", "all", "--configfile", "config/test_small.yaml"], cwd=workdir)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "characterize" in out.stdout and "snn_train" in out.stdout


def test_a_failed_job_shows_its_log(workdir):
    """Snakemake prints a failed job's log (the workflow profile's --show-failed-logs)."""
    golden = workdir / "spikemem/golden.py"
    text = golden.read_text()
    head = "def golden_summary("
    golden.write_text(
        text.replace(
            head, 'def golden_summary(*a, **k):\n    raise RuntimeError("deliberately broken")\n\n\ndef _unused(', 1
        )
    )
    target = "results/golden/crossbar-fc8x8-w2/golden.json"
    out = run(["--cores", "1", target, "--configfile", "config/test_small.yaml"], cwd=workdir)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "logs/golden/crossbar-fc8x8-w2.log" in text and "deliberately broken" in text, text[-3000:]
    assert not (workdir / target).exists()
    # The run's last words name the failed rule, its log, and how to resume.
    ending = text[text.index("spikemem: the run stopped with errors.") :]
    assert "golden: log logs/golden/crossbar-fc8x8-w2.log" in ending, ending
    assert "make resume" in ending


def test_a_finished_run_says_where_the_report_is(workdir):
    out = run(["--cores", "1", "results/provenance/pdk.json", "--configfile", "config/test_small.yaml"], cwd=workdir)
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"spikemem: finished in \d+ s\.", out.stdout + out.stderr), (out.stdout + out.stderr)[-3000:]


def _rule_graph(workdir: Path, cfg: list[str]) -> dict[str, set[str]]:
    """Snakemake's own rule graph: each rule's consumers."""
    dot = run(["all", "--rulegraph", "dot", *cfg], cwd=workdir).stdout
    labels = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)\"", dot, flags=re.M))
    consumers: dict[str, set[str]] = {name: set() for name in labels.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M):
        consumers[labels[a]].add(labels[b])
    return consumers


def _planned_jobs(out: str) -> dict[str, list[str]]:
    """rule -> the first output of each job a dry run plans."""
    jobs: dict[str, list[str]] = {}
    for rule, output in re.findall(r"^rule (\w+):\n(?:    .*\n)*?    output: ([^,\n]+)", out, flags=re.M):
        jobs.setdefault(rule, []).append(output)
    return jobs


# Modules the issue named as missing from code= lists, and a golden model, the training and the
# report's table code: each must rerun exactly the rules whose stage imports it, and their consumers.
TOUCHED = (
    "spikemem/synth/liberty_model.py",
    "spikemem/rtl/render.py",
    "spikemem/rtl/simulator.py",
    "spikemem/encodings/pb_bmp.py",
    "spikemem/snn/train.py",
    "analysis/hardware_tables.py",
)


@pytest.mark.slow
def test_touching_a_module_reruns_exactly_the_rules_that_use_it(workdir):
    from spikemem.code_dependencies import stages_using

    cfg = ["--configfile", "config/test_small.yaml"]
    summary = run(["--summary", "all", *cfg], cwd=workdir)
    assert summary.returncode == 0, summary.stderr[-3000:]
    outputs = [line.split("\t")[:3:2] for line in summary.stdout.splitlines()[1:] if line.count("\t") >= 4]
    # Every output exists and is newer than every source: the workflow is up to date.
    t0 = 1_700_000_000
    for path in workdir.rglob("*"):
        if path.is_file():
            os.utime(path, (t0, t0))
    for output, _ in outputs:
        (workdir / output).parent.mkdir(parents=True, exist_ok=True)
        (workdir / output).touch()
        os.utime(workdir / output, (t0 + 10, t0 + 10))
    dry = ["-n", "all", "--rerun-triggers", "mtime", *cfg]
    assert "Nothing to be done" in (out := run(dry, cwd=workdir)).stdout + out.stderr, out.stdout[-3000:]
    consumers = _rule_graph(workdir, cfg)
    encodings = {o.split("/")[-2].split("-")[0] for o, rule in outputs if rule == "golden"}
    for module in TOUCHED:
        os.utime(workdir / module, (t0 + 20, t0 + 20))
        planned = _planned_jobs(run(dry, cwd=workdir).stdout)
        os.utime(workdir / module, (t0, t0))
        # Stages outside `all` (price, snn_export: none of their jobs is in this run) plan no job.
        users = {rule for rule in stages_using(module, encodings) if rule in consumers}
        expected, todo = set(), list(users)
        while todo:
            rule = todo.pop()
            if rule not in expected:
                expected.add(rule)
                todo += consumers.get(rule, ())
        assert users, module
        expected.discard("all")  # the target rule has no output to list
        # Every rule using the module reruns, and nothing outside its consumers; a consumer may stay
        # up to date where none of its jobs reads a rerun job's output (a trained layer's
        # characterization feeds no clock-gating or memory-variant table).
        assert users <= set(planned) <= expected, (module, sorted(planned), sorted(expected))
        # A golden model's edit reruns the designs of its encoding only.
        if module.startswith("spikemem/encodings/"):
            for rule in ("golden", "rtl_render", "characterize"):
                designs = {Path(o).parent.name for o in planned[rule]}
                assert {d.split("-")[0] for d in designs} == {"pb_bmp"}, (rule, designs)


def test_editing_one_snn_setting_touches_only_the_snn_slice(workdir):
    """Rules depend on their stage's slice of the configuration (results/config/<slice>.json), so
    changing the training leaves every hardware stage up to date."""
    assert run(["-n", "all", "--configfile", "config/test_small.yaml"], cwd=workdir).returncode == 0
    slices = workdir / "results/config"
    before = {p.name: p.stat().st_mtime_ns for p in slices.glob("*.json")}
    other = workdir / "config/other.yaml"
    other.write_text((workdir / "config/test_small.yaml").read_text().replace("epochs: 3", "epochs: 4"))
    assert run(["-n", "all", "--configfile", str(other)], cwd=workdir).returncode == 0
    after = {p.name: p.stat().st_mtime_ns for p in slices.glob("*.json")}
    assert after["hardware.json"] == before["hardware.json"]
    assert after["snn.json"] != before["snn.json"] and after["all.json"] != before["all.json"]


def test_bad_config_is_refused_naming_the_key(workdir):
    out = run(["-n", "all", "--config", "clock_mhz=-3"], cwd=workdir)
    assert out.returncode != 0
    assert "clock_mhz" in out.stderr + out.stdout


# Tests sharing the small run stay on one xdist worker (`--dist loadgroup`), so it is built once.
@pytest.mark.slow
@pytest.mark.xdist_group("small_run")
def test_small_configuration_end_to_end(small_run, root, tmp_path):
    results = small_run / "results"
    # The encodings are the configuration's, whatever they are (new ones come from the registry).
    from spikemem.config import load_config

    encodings = load_config(small_run / "config/test_small.yaml")["encodings"]
    table = pd.read_csv(results / "golden/storage_bits.csv")
    assert set(table.encoding) == set(encodings["fc"]) | set(encodings["conv"]) == set(REGISTRY)
    energy = pd.read_csv(results / "energy/energy_table.csv")
    assert set(energy.operation) == {"forward", "backward", "update", "backward_row"}
    assert set(energy[energy.operation == "backward_row"].encoding) == set(encodings["fc"])
    assert (energy.flow_level == "synthesis").all() or (energy.flow_level == "placed_and_routed").all()
    networks = pd.read_csv(results / "energy/network_energy.csv")
    gating = pd.read_csv(results / "synth/clock_gating.csv")
    assert set(gating.design) == {"pb_bmp-fc8x8-w2"} and (gating.per_event_ratio < 1).all()
    assert (gating.idle_cycle_pj_gated < gating.idle_cycle_pj_ungated).all()
    variants = pd.read_csv(results / "synth/memory_variants.csv")
    narrow = variants[variants.variant_memory.str.contains("16-bit words")]
    assert set(narrow.design) == {"pb_bmp-fc8x8-w2"} and len(narrow) == len(REGISTRY["pb_bmp"].operations)
    assert (variants.variant_dynamic_pj > 0).all()
    # The macro sweep's designs on the broadcast bus: 32-bit words on the same macro.
    broadcast = variants[variants.variant_memory.str.contains("x sky130_sram_1kbyte_1rw1r_32x256_8")]
    assert set(broadcast.design) == {"crossbar-fc8x8-w5", "crossbar-fc48x48-w5"}
    assert (broadcast.main_macros == broadcast.variant_macros).all()
    assert (broadcast.main_read_pj_per_access == broadcast.variant_read_pj_per_access).all()
    # The 2 KiB macro on a trained layer: fewer macros, each larger and costlier per access.
    larger = variants[variants.variant_memory.str.contains("2kbyte")]
    assert set(larger.design) == {"pb_bmp-fc30x20-w2-paper-a12e12g8"}
    assert (larger.variant_macros <= larger.main_macros).all()
    assert (larger.variant_macro_area_mm2 > larger.main_macro_area_mm2 / larger.main_macros).all()
    assert (larger.variant_read_pj_per_access != larger.main_read_pj_per_access).all()
    assert (networks.dynamic_j > 0).all() and set(networks.encoding) == set(encodings["fc"])
    # Dynamic energy is the sum of its logic and SRAM parts; leakage sits beside it.
    for op in ("forward", "backward", "backward_column", "backward_row", "update"):
        assert np.allclose(networks[f"{op}_j"], networks[f"{op}_logic_j"] + networks[f"{op}_sram_j"], rtol=1e-4)
    # Both backward modes priced for every network; the configured "best" takes the cheaper per layer,
    # and the training scope leaves out the first layer's backward pass.
    assert (networks.backward_column_j > 0).all() and (networks.backward_row_j > 0).all()
    layers = pd.read_csv(results / "energy/network_layers.csv")
    assert set(layers.backward_mode) <= {"column", "row"}
    assert np.allclose(layers.backward_j, layers[["backward_column_j", "backward_row_j"]].min(axis=1), rtol=1e-9)
    assert (networks.backward_training_j < networks.backward_j).all()
    assert set(networks.freeze_structure.astype(str)) == {"True", "False"}
    # The macro sweep: characterized with both memory buses, never fitted on.
    from analysis.hardware_tables import macro_scaling

    sweep = macro_scaling(results, load_config(small_run / "config/test_small.yaml"))
    assert set(sweep.bus) == {"isolated", "broadcast"} and sweep.macros.max() > 1
    assert not energy.fit_designs.str.contains("fc48x48").any()
    assert (networks.leakage_real_time_j > 0).all() and (networks.leakage_throughput_j > 0).all()
    # One FC size here: nothing to hold out, but both error columns are there.
    assert (energy.e_sram_read_word_j > 0).all() and {"heldout_max_error", "heldout_max_error_logic"} <= set(energy)
    claims = pd.read_csv(results / "report/claims.csv")
    from analysis.claims import load_paper_claims

    # Every claim evaluated, the retention claims under both training protocols.
    assert len(claims) == len(load_paper_claims()) and claims.our_value.notna().all() and (claims.status == "ok").all()
    assert {"retention_degradation", "retention_degradation_adaptive"} <= set(claims.id)
    assert claims.ours_real_time.notna().all() and claims.ours_throughput.notna().all()
    ratio = claims.set_index("id").loc["bitmap_efficiency"]
    for mode in ("configured", "column", "row"):
        for scope in ("paper", "training"):
            assert ratio[f"ours_backward_{mode}_{scope}"] > 0
    sens = pd.read_csv(results / "report/sram_sensitivity.csv")
    assert set(sens.sram_scale.dropna()) == {0.25, 0.5, 1.0, 2.0, 4.0, 8.0} and (sens.status == "ok").all()
    # Every heavy rule left a Snakemake benchmark file; the resource benchmark reads them.
    bench = subprocess.run(
        [
            sys.executable,
            root / "benchmarks/rule_resources.py",
            "--results",
            results,
            "--configfile",
            "config/test_small.yaml",
        ],
        capture_output=True,
        text=True,
    )
    assert bench.returncode == 0, bench.stderr[-2000:]
    assert "characterize" in bench.stdout and "peak memory of any rule" in bench.stdout
    # Rerunning with nothing changed runs nothing.
    again = run(["--cores", "2", "all", "--configfile", "config/test_small.yaml", "-n"], cwd=small_run)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
@pytest.mark.xdist_group("small_run")
@pytest.mark.parametrize("encoding", sorted(REGISTRY))
def test_small_run_characterizes_each_encoding_at_gate_level(small_run, encoding):
    """Each encoding's gate-level characterization in the small run (5-bit design): checked like
    the RTL, energies from every net and the SRAM macros, a reset check from random start states,
    clock gates that make an idle cycle cheaper, and an energy-table row from it."""
    from spikemem.synth.energy_table import COEFFICIENTS, build_table

    found = [
        json.loads(path.read_text()) for path in sorted((small_run / "results/synth").glob("*/characterization.json"))
    ]
    from spikemem.config import fitted_designs, load_config

    fitted = {d.name for d in fitted_designs(load_config(small_run / "config/test_small.yaml"))}
    r = next(c for c in found if c["design"]["name"] in fitted and c["design"]["encoding"] == encoding
             and c["design"]["weight_bits"] == 5)  # fmt: skip
    # The energy comes from the synthesized netlist without parasitics: its level is synthesis even
    # where a placed-and-routed flow ran (recorded as flow_run).
    assert r["flow_level"] == "synthesis" and r["flow_run"] in ("synthesis", "placed_and_routed")
    assert r["synthesis"]["cells"] > 0 and r["synthesis"]["macros"], "memories are SRAM macros here"
    per_event = {}
    for run in r["runs"]:
        assert run["gate_level_mismatches"] == 0
        # The macro access counters the SRAM energy uses equal the golden model's accesses, in
        # every window and every event (characterize raises otherwise; the record says so).
        counts = run["sram_count_check"]
        assert counts["mismatches"] == 0 and counts["windows"] == len(run["windows"])
        assert counts["events"] == run["events"] and counts["memories"]
        w = run["windows"]
        assert sum(x["internal_j"] for x in w) > 0 and sum(x["switching_j"] for x in w) > 0
        per_event[(run["operation"], run["density"])] = sum(x["dynamic_j"] for x in w) / sum(x["events"] for x in w)
        if run["operation"] != "update":
            assert sum(x["sram_read_j"] for x in w) > 0  # the SRAM share is present
    # Denser layers stream more synapses per event: forward and backward energy rises with activity.
    low, high = sorted({density for _, density in per_event})
    for op in ("forward", "backward"):
        assert per_event[(op, high)] > per_event[(op, low)]
    # Started from random flop values, the controller still matches the golden model.
    reset = r["reset_check"]
    assert reset["passed"] and len(reset["runs"]) >= 2
    assert len({x["cells_started_at_1"] for x in reset["runs"]}) > 1, "different seeds, different start states"
    assert all(0 < x["cells_started_at_1"] < x["cells_randomized"] for x in reset["runs"])
    assert all(x["gate_level_mismatches"] == 0 and x["sram_count_check"]["mismatches"] == 0 for x in reset["runs"])
    prov = r["provenance"]
    assert prov["flow_level"] == r["flow_level"] and prov["tools"]["verilator"]
    assert r["gate_simulation"]["simulator"] == "verilator" and r["gate_simulation"]["nets"] > 0
    assert all(len(h) == 64 for h in prov["pdk_files"].values())
    assert r["cross_check"]["ours_logic_power_w"] > 0 and r["timing"]["worst_slack_ns"] is not None
    # Macro leakage is an SRAM term only: the logic's is far smaller (picowatts per cell).
    assert r["leakage_w"]["logic"] < r["leakage_w"]["sram"]
    # Clock gating: the netlist has clock gates, and an idle cycle costs less logic energy than the
    # mean cycle of any operation.
    assert any("dlclkp" in t for t in r["synthesis"]["cells_by_type"])
    cyc = r["cycle_energy"]
    assert 0 < cyc["idle_logic_j"] < min(a["logic_j"] for a in cyc["active"].values())
    table = build_table([r], {})
    assert set(table.operation) == set(REGISTRY[encoding].operations)
    assert (table[list(COEFFICIENTS)] >= 0).all().all()


@pytest.mark.slow
@pytest.mark.xdist_group("small_run")
def test_small_run_files_are_readable_by_others(small_run):
    """Results are shared: under a umask that lets others read, every file the run wrote (report,
    claims, tables, figures, logs, the tools' work files) is readable by group and others, and
    every directory can be listed and entered. Temporary files renamed into place keep their 0600
    otherwise (spikemem.atomic_files)."""
    import stat

    readable = stat.S_IRGRP | stat.S_IROTH
    enterable = readable | stat.S_IXGRP | stat.S_IXOTH
    assert not SMALL_RUN_UMASK & readable, "the run's umask lets others read"
    private, checked = [], 0
    for top in ("results", "logs"):
        for path in [small_run / top, *(small_run / top).rglob("*")]:
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            wanted = enterable if stat.S_ISDIR(st.st_mode) else readable
            checked += 1
            if stat.S_IMODE(st.st_mode) & wanted != wanted:
                private.append(f"{oct(stat.S_IMODE(st.st_mode))} {path.relative_to(small_run)}")
    assert (small_run / "results/report/index.html").is_file() and (small_run / "results/report/claims.csv").is_file()
    assert checked > 100
    assert not private, f"{len(private)} files or directories others cannot read:\n" + "\n".join(private[:30])


@pytest.mark.slow
@pytest.mark.xdist_group("small_run")
@pytest.mark.requires("chromium")
def test_small_run_report_in_a_browser(small_run, tmp_path):
    """The report of the small run, rendered by a real browser (its own test, so a machine
    without Chromium skips this check only, never the end-to-end run)."""
    check_report_in_browser(small_run, tmp_path)


from analysis.report import CHROMIUM_FLAGS  # noqa: E402

SLURM_TOOLS = ("slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "munged")
# What the cluster run must reproduce byte for byte from the local run.
EXECUTOR_INDEPENDENT = (
    "results/golden/storage_bits.csv",
    "results/verify/summary.csv",
    "results/energy/energy_table.csv",
    "results/energy/network_energy.csv",
    "results/energy/network_layers.csv",
    "results/snn/summary.csv",
    "results/report/claims.csv",
)


@pytest.fixture(scope="session")
def local_slurm(root, tmp_path_factory):
    """A one-node SLURM cluster on this machine (scripts/local_slurm_cluster.sh), stopped at the
    end of the session. Skips where SLURM is not installed, unless SPIKEMEM_NO_SKIPS is set (CI sets
    it, so a cluster that cannot start fails the run instead of hiding)."""
    missing = [tool for tool in SLURM_TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        needs = ([] if os.geteuid() == 0 else ["root"]) + missing
        reason = (
            f"a local SLURM cluster needs {', '.join(needs)} "
            "(bash scripts/install_system_tools.sh slurmctld slurmd slurm-client munge)"
        )
        unavailable(reason)
    cluster = tmp_path_factory.mktemp("slurm")
    script = root / "scripts/local_slurm_cluster.sh"
    started = subprocess.run(["bash", script, "start", cluster], capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    yield cluster / "slurm.conf"
    subprocess.run(["bash", script, "stop", cluster], capture_output=True, timeout=60)


@pytest.mark.slow
@pytest.mark.xdist_group("small_run")
def test_small_configuration_on_slurm(small_run, local_slurm, root, tmp_path):
    """The cluster profile, for real: every non-local rule is an sbatch job on the local cluster,
    and the results equal the local run's byte for byte.

    The cluster run starts from the local run's results with one design's chain (RTL,
    verification, characterization) and one training job's networks removed: those jobs and
    everything downstream of them run on the cluster, the rest is shared with the local run
    instead of being computed twice."""
    import_or_unavailable("snakemake_executor_plugin_slurm")
    wf = copy_workflow(root, tmp_path / "wf")
    # copy2 keeps the modification times, so Snakemake sees the copied results as up to date; the
    # tools' work directories are no rule's output and stay behind.
    shutil.copytree(small_run / "results", wf / "results", symlinks=True, ignore=shutil.ignore_patterns("work"))
    design = "crossbar-fc8x8-w5"  # no variant is built from it: its chain alone reruns
    for removed in (f"rtl/{design}", f"verify/{design}.json", f"synth/{design}"):
        path = wf / "results" / removed
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    runs = sorted((wf / "results/snn/runs").glob("adaptive-*/w*-s0"))
    assert runs, "the small run trained the adaptive protocol"
    for run_dir in runs:  # every width of the training job (one job trains them all)
        shutil.rmtree(run_dir)
    env = {**os.environ, "SLURM_CONF": str(local_slurm)}
    # The local cluster has no accounting database: no account to charge, and job states from squeue.
    local_cluster = ["--slurm-no-account", "--slurm-status-command", "squeue"]
    args = ["--profile", "profiles/slurm", *local_cluster, "--slurm-init-seconds-before-status-checks", "2"]
    out = run([*args, "all", "--configfile", "config/test_small.yaml"], cwd=wf, env=env, timeout=2400)
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]

    # SLURM's own record: the plugin puts the rule in each job's comment.
    queue = subprocess.run(["squeue", "-t", "all", "-h", "-o", "%T|%k"], capture_output=True, text=True, env=env)
    jobs = [line.split("|", 1) for line in queue.stdout.splitlines()]
    assert jobs and all(state == "COMPLETED" for state, _ in jobs), queue.stdout
    rules_on_cluster = {re.sub(r"^rule_|_wildcards_.*$", "", comment) for _, comment in jobs}
    assert {"rtl_render", "rtl_verify", "characterize", "snn_train", "network_energy"} <= rules_on_cluster
    assert not rules_on_cluster & {"all", "report", "energy_table"}, "local rules stay local"

    for name in EXECUTOR_INDEPENDENT:
        assert (wf / name).read_bytes() == (small_run / name).read_bytes(), f"{name} differs from the local run"
    # The design characterized on the cluster measured what the local run measured.
    chars = [json.loads((d / f"results/synth/{design}/characterization.json").read_text()) for d in (wf, small_run)]
    assert chars[0]["runs"] == chars[1]["runs"] and chars[0]["cycle_energy"] == chars[1]["cycle_energy"]


def check_report_in_browser(small_run: Path, tmp_path: Path) -> None:
    """Open the report in headless Chromium: every figure decodes, every table has rows."""
    report = small_run / "results/report/index.html"
    url = report.resolve().as_uri()
    dom = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    check = re.search(r'data-check="images (\d+)/(\d+) tables (\d+)/(\d+)"', dom.stdout)
    assert check, dom.stderr[-2000:]
    ok_img, n_img, ok_tab, n_tab = map(int, check.groups())
    assert n_img >= 6 and ok_img == n_img, "every figure decodes"
    assert n_tab >= 3 and ok_tab == n_tab, "every table has rows"
    shot = small_run / "results/report/screenshot.png"
    subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'p2'}",
            "--window-size=1280,1400",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000
