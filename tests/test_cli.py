"""The command line for people: version, help, the workflow's paths as defaults, the doctor's
verdict, and errors as one message instead of a traceback."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import unavailable

from spikemem import cli, layout
from spikemem.processes import ToolError, run_tool
from spikemem.tools import Tool, missing_requirements, requirements

DESIGN = "crossbar-fc8x8-w2"  # in config/test_small.yaml


def spikemem(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m spikemem ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "spikemem", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def all_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) of the main parser and every subcommand, nested ones included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, (*path, name))


# --------------------------------------------------------------------------- version and help


def test_version_is_the_installed_packages(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"spikemem {version('spikemem')}\n"


def test_help_has_no_markup_and_an_example_everywhere():
    parsers = list(all_parsers(cli.build_parser()))
    assert len(parsers) > 15, "every subcommand, nested ones included"
    for words, parser in parsers:
        text = parser.format_help()
        for markup in ("``", ":func:", ":class:", ":mod:", ":data:", ":meth:"):
            assert markup not in text, (words, markup)
        assert "example" in text, words
        # The examples are commands of this CLI.
        for line in text.split("example", 1)[1].splitlines()[1:]:
            if line.startswith("  spikemem "):
                cli.build_parser().parse_args(shlex.split(line.split("  ")[1])[1:])


def test_debug_is_accepted_before_and_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["--debug", "config", "designs"]).debug
    assert parser.parse_args(["config", "designs", "--debug"]).debug
    assert not parser.parse_args(["config", "designs"]).debug


# --------------------------------------------------------------------------- default paths


def resolved(*argv: str) -> dict:
    args = cli.resolve_defaults(cli.build_parser().parse_args(["--debug", *argv]))
    return {k: v for k, v in vars(args).items() if k not in ("func", "default_paths", "debug")}


def test_design_stages_default_to_the_workflow_layout():
    d = "pb_bmp-fc16x16-w4"
    assert resolved("golden", "--design", d)["out"] == f"results/golden/{d}/golden.json"
    assert resolved("rtl", "render", "--design", d)["out_dir"] == f"results/rtl/{d}"
    verify = resolved("rtl", "verify", "--design", d, "--variant", "ungated")
    assert (verify["rtl_dir"], verify["work_dir"], verify["out"]) == (
        f"results/rtl-ungated/{d}",
        f"results/verify-ungated/work/{d}",
        f"results/verify-ungated/{d}.json",
    )
    char = resolved("characterize", "--design", d)
    assert char == {
        "command": "characterize",
        "config": None,
        "design": d,
        "variant": None,
        "rtl_dir": f"results/rtl/{d}",
        "work_dir": f"results/synth/{d}/work",
        "cache_dir": "results/synth/cache",
        "out": f"results/synth/{d}/characterization.json",
        "workload": None,  # not a trained layer: none
    }
    trained = "crossbar-fc700x400-w5-paper-a12e12g8"
    assert resolved("characterize", "--design", trained)["workload"] == f"results/workloads/{trained}.npz"
    workload = resolved("workload", "--design", trained)
    assert (workload["data_dir"], workload["runs_dir"], workload["out"]) == (
        "results/snn/data",
        "results/snn/runs",
        f"results/workloads/{trained}.npz",
    )
    # Given paths are kept.
    assert resolved("characterize", "--design", d, "--out", "x.json")["out"] == "x.json"


def test_tables_default_to_every_configured_input():
    from spikemem.config import designs, load_config
    from spikemem.snn.protocols import run_names

    cfg = load_config(None)
    energy = resolved("energy")
    assert (energy["table"], energy["out_dir"]) == ("results/energy/energy_table.csv", "results/energy")
    assert energy["runs"] == [f"results/snn/runs/{r}/metrics.json" for r in run_names(cfg)]
    table = resolved("energy-table")
    assert table["out"] == "results/energy/energy_table.csv"
    assert table["inputs"] == [f"results/synth/{d.name}/characterization.json" for d in designs(cfg)]
    direct = resolved("direct-energy")
    assert (direct["table"], direct["workload_dir"], direct["out"]) == (
        "results/energy/energy_table.csv",
        "results/workloads",
        "results/energy/network_direct.csv",
    )
    assert (
        direct["inputs"] == [f"results/synth/{d.name}/characterization.json" for d in designs(cfg) if d.trained]
        and len(direct["inputs"]) == 4
    )
    gating = resolved("tabulate-gating")
    refs = cfg["clock_gating"]["reference_designs"]
    assert gating["ungated"] == [f"results/synth-ungated/{d}/characterization.json" for d in refs]
    summary = resolved("snn", "summary")
    assert (summary["out"], summary["scores"]) == ("results/snn/summary.csv", "results/snn/retention.csv")


def test_pdk_root_defaults_to_the_shared_pdk_beside_the_checkout(monkeypatch, tmp_path):
    assert layout.DEFAULT_PDK_ROOT == Path(cli.__file__).resolve().parent.parent.parent / "shared" / "pdk"
    monkeypatch.delenv("PDK_ROOT", raising=False)
    monkeypatch.setattr(layout, "DEFAULT_PDK_ROOT", tmp_path)
    assert cli.main(["config", "designs"]) == 0
    assert os.environ["PDK_ROOT"] == str(tmp_path)
    # A PDK_ROOT that is set wins.
    monkeypatch.setenv("PDK_ROOT", "/elsewhere")
    assert cli.main(["config", "designs"]) == 0
    assert os.environ["PDK_ROOT"] == "/elsewhere"


# Options that are not paths: the test keeps them when it drops the paths of a rule's command.
NOT_PATHS = {"--config", "--design", "--variant", "--training-set", "--seed", "--weight-bits", "--workers"}
# Checks that write a file only when asked (a default would rewrite the workflow's provenance, and
# rerun the report, on every look at the machine).
NO_DEFAULT = {("doctor", "out"), ("pdk", "out")}


def _without_paths(argv: list[str]) -> list[str]:
    """A rule's command line without its path options and positional inputs."""
    kept, i = [], 0
    while i < len(argv):
        if not argv[i].startswith("--"):
            kept.append(argv[i])  # a command word (no positional input precedes the options)
            i += 1
            continue
        j = i + 1
        while j < len(argv) and not argv[j].startswith("--"):
            j += 1
        if argv[i] in NOT_PATHS:
            kept += argv[i : i + 2]
        i = j
    return kept


@pytest.mark.slow
def test_defaults_equal_what_the_rules_pass(root, tmp_path, monkeypatch):
    """Every `spikemem` command a dry run of the small workflow would run, parsed as given and
    again without its paths: the defaults give the same paths, inputs included."""
    wf = tmp_path / "wf"
    for item in (
        "Snakefile",
        "rules",
        "config",
        "pdk_configs",
        "spikemem",
        "envs",
        "templates",
        "analysis",
        "profiles",
    ):
        src = root / item
        if src.is_dir():
            shutil.copytree(src, wf / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            wf.mkdir(exist_ok=True)
            shutil.copy2(src, wf / item)
    configfile = "config/test_small.yaml"
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "all", "--configfile", configfile],
        cwd=wf,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    commands = re.findall(r"^Shell command: (?:\S+=\S+ )*python -m spikemem (.*?)(?: 3>&2)? > ", dry.stdout, flags=re.M)
    assert {shlex.split(c)[0] for c in commands} >= {"golden", "rtl", "characterize", "energy", "snn", "doctor"}
    parser = cli.build_parser()
    monkeypatch.chdir(wf)  # the rules' paths are relative to the workflow's directory
    for command in commands:
        argv = shlex.split(command)
        given = vars(parser.parse_args(argv))
        short = _without_paths(argv)
        if "--config" not in short:  # the run lists come from the configuration the workflow ran
            short += ["--config", configfile]
        defaults = vars(cli.resolve_defaults(parser.parse_args(short)))
        for name, value in given.items():
            if name in ("func", "default_paths", "config") or (argv[0], name) in NO_DEFAULT:
                continue
            if isinstance(value, list):  # Snakemake may list a rule's inputs in another order
                value, defaults[name] = sorted(value), sorted(defaults[name])
            assert defaults[name] == value, (command, name)


# --------------------------------------------------------------------------- doctor


def path_with(tmp_path: Path, programs: tuple[str, ...]) -> str:
    """A PATH holding only ``programs`` (links to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in programs:
        real = shutil.which(name)
        if real is None:
            unavailable(f"needs {name} on PATH to link it")
        (bin_dir / name).symlink_to(real)
    return str(bin_dir)


@pytest.mark.requires("iverilog", "vvp", "verilator", "sta")
def test_doctor_fails_naming_the_package_of_each_missing_tool(tmp_path):
    env = {**os.environ, "PATH": path_with(tmp_path, ("iverilog", "vvp"))}
    out = spikemem("doctor", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "spikemem: error: missing sta" in out.stderr and "apt-get install opensta" in out.stderr
    assert "spikemem: error: missing verilator" in out.stderr and "apt-get install verilator" in out.stderr
    assert "iverilog" not in out.stderr and "openroad" not in out.stderr and "Traceback" not in out.stderr
    data = json.loads(spikemem("doctor", "--json", env=env).stdout)
    assert {m["tool"] for m in data["missing"]} == {"sta", "verilator"}


@pytest.mark.requires("iverilog", "vvp", "verilator", "sta")
def test_doctor_passes_without_openroad(tmp_path):
    """OpenROAD only raises the flow level: a machine without it runs the whole flow."""
    env = {**os.environ, "PATH": path_with(tmp_path, ("iverilog", "vvp", "verilator", "sta"))}
    out = spikemem("doctor", env=env)
    assert out.returncode == 0, out.stderr
    assert "flow level:        synthesis" in out.stdout


def _tools(**usable: bool) -> dict[str, Tool]:
    tools = {name: Tool(name, usable=True, version="1") for name in ("yosys", "pyosys", "sta", "iverilog", "verilator")}
    tools["openroad"] = Tool("openroad")
    for name, ok in usable.items():
        tools[name] = Tool(name, usable=ok, version="1" if ok else None)
    return tools


def test_only_the_configured_simulators_are_required(monkeypatch):
    from spikemem.config import load_config

    monkeypatch.setattr(shutil, "which", lambda name: None)  # no vvp either
    cfg = load_config(None)
    cfg["verification"]["simulators"] = ["verilator"]
    cfg["characterization"]["simulator"] = "verilator"
    assert "iverilog" not in {r.tool for r in requirements(cfg)}
    assert missing_requirements(_tools(iverilog=False), cfg) == []
    cfg["verification"]["simulators"] = ["icarus"]
    missing = {r.tool: r.install for r in missing_requirements(_tools(iverilog=False), cfg)}
    assert missing == {"iverilog": "apt-get install iverilog", "vvp": "apt-get install iverilog"}
    # auto may choose either simulator, design by design: both are required.
    cfg["verification"]["simulators"] = ["auto"]
    missing = {r.tool: r.install for r in missing_requirements(_tools(iverilog=False), cfg)}
    assert missing == {"iverilog": "apt-get install iverilog", "vvp": "apt-get install iverilog"}


def test_without_pyosys_the_doctor_says_pip_install_pyosys():
    from spikemem.config import load_config

    missing = {r.tool: r.install for r in missing_requirements(_tools(pyosys=False, yosys=False), load_config(None))}
    assert missing["pyosys"] == "pip install pyosys" and missing["yosys"].startswith("pip install pyosys")
    # A new enough yosys on PATH does the synthesis; the cell models still need pyosys.
    assert {r.tool for r in missing_requirements(_tools(pyosys=False), load_config(None))} == {"pyosys"}


# --------------------------------------------------------------------------- errors


def test_tool_error_names_tool_design_log_and_tail(tmp_path):
    log = tmp_path / "build.log"
    script = "for i in $(seq 1 40); do echo line $i; done; echo 'syntax error near endmodule'; exit 3"
    with pytest.raises(ToolError) as err:
        run_tool(["sh", "-c", script], log)
    err.value.design = DESIGN
    lines = str(err.value).splitlines()
    assert lines[0] == f"sh failed (exit 3); design {DESIGN}; log: {log}"
    assert lines[-1] == "  | syntax error near endmodule" and "  | line 40" in lines and len(lines) < 20
    assert (err.value.tool, err.value.log) == ("sh", log)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, root, pdk_root_env):
    """One small design's RTL, rendered once."""
    if not pdk_root_env or not Path(pdk_root_env).is_dir():
        unavailable("needs the PDK: set PDK_ROOT (see README)")
    out = tmp_path_factory.mktemp("rtl") / DESIGN
    done = spikemem(
        "rtl", "render", "-c", str(root / "config/test_small.yaml"), "--design", DESIGN, "--out-dir", str(out)
    )
    assert done.returncode == 0, done.stderr
    return out


def test_a_failing_tool_is_one_message_without_traceback(rendered, root, tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "verilator").write_text("#!/bin/sh\necho '%Error: spikemem_crossbar.v:12: syntax error'\nexit 1\n")
    (fake / "verilator").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    argv = ["rtl", "verify", "-c", str(root / "config/test_small.yaml"), "--design", DESIGN]
    argv += ["--rtl-dir", str(rendered), "--work-dir", str(tmp_path / "work"), "--out", str(tmp_path / "v.json")]
    out = spikemem(*argv, env=env)
    assert out.returncode == 1
    first, *tail = out.stderr.splitlines()
    log = tmp_path / "work" / "lint.log"
    assert first == f"spikemem: error: verilator failed (exit 1); design {DESIGN}; log: {log}"
    assert tail[-1] == "  | %Error: spikemem_crossbar.v:12: syntax error"
    assert "Traceback" not in out.stderr and not (tmp_path / "v.json").exists()
    debug = spikemem(*argv, "--debug", env=env)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ToolError" in debug.stderr


def test_a_siliconcompiler_failure_names_the_step_and_its_log(tmp_path):
    from spikemem.synth.sc_flow import run_project

    build = tmp_path / "build"
    for step, text in (
        ("elaborate", "elaborated\n"),
        ("synthesis", "ok\nERROR: Module `sram' referenced is not defined\n"),
    ):
        log = build / "top" / "synth" / step / "0" / f"{step}.log"
        log.parent.mkdir(parents=True)
        log.write_text(text)
    os.utime(build / "top/synth/elaborate/0/elaborate.log", (1, 1))  # the synthesis step ran last

    class FailingProject:
        def run(self):
            raise RuntimeError("Run failed: Could not run final steps: synthesis")

    with pytest.raises(ToolError) as err:
        run_project(FailingProject(), build)
    assert err.value.tool == "yosys" and err.value.log == build / "top/synth/synthesis/0/synthesis.log"
    assert str(err.value).startswith("SiliconCompiler's synthesis step (yosys) failed: Run failed")
    assert str(err.value).endswith("  | ERROR: Module `sram' referenced is not defined")


def test_interrupt_is_a_message_not_a_traceback(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_config", interrupted)
    assert cli.main(["config", "designs"]) == 130
    assert capsys.readouterr().err == "spikemem: error: interrupted\n"
    # --debug adds the traceback; the exit code stays
    assert cli.main(["--debug", "config", "designs"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyboardInterrupt" in err and err.endswith("spikemem: error: interrupted\n")


def test_a_closed_pipe_ends_quietly():
    """`spikemem config designs | true`: the reader is gone before the first write, and nothing
    is said about it (no BrokenPipeError)."""
    out = subprocess.run(
        f"{shlex.quote(sys.executable)} -m spikemem config designs | true",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stderr == ""


def test_unknown_training_set_is_a_config_error(capsys):
    assert cli.main(["snn", "train", "--training-set", "nope-x1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spikemem: error: no training set 'nope-x1'") and "paper-" in err


def test_progress_lines_reach_the_log_and_the_terminal_the_rule_hands_over(tmp_path):
    """As the long rules run their command (SPIKEMEM_PROGRESS_FD=3 ... 3>&2 > log 2>&1): a progress
    line is in the log and on descriptor 3; without that descriptor, in the log only."""
    script = "from spikemem.progress import progress; progress('[characterize d] synthesis'); print('result')"
    log = tmp_path / "job.log"
    shell = f"SPIKEMEM_PROGRESS_FD=3 {shlex.quote(sys.executable)} -c {shlex.quote(script)} 3>&2 > {log} 2>&1"
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "[characterize d] synthesis\n" and out.stdout == ""
    assert log.read_text().splitlines() == ["[characterize d] synthesis", "result"]
    alone = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "SPIKEMEM_PROGRESS_FD": "3"},
        timeout=60,
    )
    assert alone.returncode == 0 and alone.stderr == "[characterize d] synthesis\n"
