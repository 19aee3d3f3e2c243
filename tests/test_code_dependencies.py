"""Each rule's code dependencies, derived from the imports of its CLI stage (a dry run checks the
reruns for real in tests/test_workflow.py)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from spikemem.code_dependencies import STAGES, encoding_files, module_closure, stage_code, stages_using
from spikemem.encodings import REGISTRY


def _file_of(obj) -> str:
    return str(Path(inspect.getfile(obj)).resolve().relative_to(Path(__file__).resolve().parent.parent))


def test_every_rule_declares_its_stage(root):
    rules = set()
    for smk in (root / "rules").glob("*.smk"):
        rules |= set(re.findall(r"^rule (\w+):", smk.read_text(), flags=re.M))
    assert rules == set(STAGES)
    for smk in (root / "rules").glob("*.smk"):
        text = smk.read_text()
        for rule in re.findall(r"^rule (\w+):", text, flags=re.M):
            body = text.split(f"rule {rule}:", 1)[1].split("\nrule ", 1)[0]
            assert f'code=rule_code("{rule}")' in body, rule


def test_characterization_depends_on_what_computes_its_energy():
    from spikemem.synth import characterize

    simulate = next(v for k, v in vars(characterize).items() if k == "simulate")
    code = stage_code("characterize", "crossbar")
    for path in (
        "spikemem/synth/liberty_model.py",
        "spikemem/synth/gatelevel.py",
        "spikemem/synth/yosys_frontend.py",
        "spikemem/synth/energy_model.py",
        "spikemem/rtl/render.py",
        _file_of(simulate),
        "pdk_configs/sky130hd.yaml",
    ):
        assert path in code, path
    # A crossbar design does not depend on another encoding's golden model.
    assert "spikemem/encodings/crossbar.py" in code
    assert "spikemem/encodings/pb_bmp.py" not in code


def test_network_energy_and_report_depend_on_golden_models_and_figure_code():
    energy = stage_code("network_energy")
    assert all(f in energy for name in REGISTRY for f in encoding_files(name))
    report = stage_code("report")
    for path in ("analysis/report.py", "analysis/claims.py", "analysis/hardware_tables.py", "analysis/snn_figures.py"):
        assert path in report
    assert "analysis/paper_claims.yaml" in report and "templates/report/index.html.j2" in report


def test_training_and_hardware_do_not_depend_on_each_other():
    assert "spikemem/snn/train.py" not in stage_code("characterize", "pb_bmp")
    assert not any(f.startswith("spikemem/synth/") for f in stage_code("snn_train"))
    # The NIR export reads the runs' layers and the protocols' weight scales; a trained layer's
    # workload replays an epoch of its protocol, and so does the network energy (for each run's
    # event statistics), with the stages built on its module. The hardware stages read the workload
    # file only.
    assert stages_using("spikemem/snn/train.py") == {
        "snn_train",
        "snn_summary",
        "snn_export",
        "trained_workload",
        "network_energy",
        "direct_energy",
        "price",
        "report",
    }
    assert not any(stages_using("spikemem/snn/train.py") & {"characterize", "rtl_verify", "energy_table"})
    assert "spikemem/snn/paper_protocol.py" not in stage_code("rtl_verify", "crossbar")
    # A change to the fitted model reruns the table and what prices with it, never a characterization.
    assert stages_using("spikemem/synth/energy_table.py", ["crossbar"]) >= {"energy_table", "network_energy"}
    assert "characterize" not in stages_using("spikemem/synth/energy_table.py", ["crossbar", "pb_bmp"])
    # Function-local imports count: energy_table imports the renderer inside capacity_bits.
    assert "spikemem.rtl.render" in module_closure(("spikemem.synth.energy_table",))
