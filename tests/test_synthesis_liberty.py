"""The reduced Liberty synthesis reads: what it removes, what it keeps byte for byte, and that the
netlist synthesized on it is the one the full library gives."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from spikemem.config import designs, load_config
from spikemem.paths import CONFIG_DIR
from spikemem.pdk import load_pdk_config, pdk_root
from spikemem.synth.synthesis_liberty import canonical_netlist, reduce_liberty, synthesis_liberty

LIB = textwrap.dedent(
    """\
    library (demo) {
      /* a comment with a brace { that is not a group */
      leakage_power_unit : "1nW";
      cell ("demo__inv_1") {
        area : 3.75;
        leakage_power () {
          value : 0.01;
        }
        pin ("Y") {
          direction : "output";
          function : "(!A)";
          internal_power () {
            related_pin : "A";
            rise_power ("tbl") { values ("1, 2"); }
          }
          timing () {
            related_pin : "A";
            cell_rise ("tbl") { values ("0.1, 0.2"); }
          }
        }
      }
      cell ("demo__fill_1") {
        area : 1.0;
      }
      cell ("demo__lpflow_iso_1") {
        pin ("X") { direction : "output"; function : "A"; }
      }
    }
    """
)


def test_reduction_drops_dont_use_cells_and_power_groups_and_keeps_the_rest():
    reduced, removed = reduce_liberty(LIB, ["demo__fill_*", "demo__lpflow_*"])
    assert removed["cells_kept"] == 1 and removed["cells_dropped"] == ["demo__fill_1", "demo__lpflow_iso_1"]
    assert removed["groups_dropped"] == {"internal_power": 1, "leakage_power": 1}
    assert "fill_1" not in reduced and "lpflow" not in reduced and "rise_power" not in reduced
    # What stays is the original's text, untouched (the unit attribute is not a power group).
    for kept in ('leakage_power_unit : "1nW";', "a brace { that", 'function : "(!A)";', 'cell_rise ("tbl")'):
        assert kept in reduced
    groups = reduced.replace("a brace {", "")
    assert groups.count("{") == groups.count("}")


def test_a_dont_use_list_that_removes_every_cell_is_refused():
    with pytest.raises(ValueError, match="every cell"):
        reduce_liberty(LIB, ["demo__*"])


def test_canonical_netlist_ignores_the_name_counters_only():
    a = "wire \\f$x.v:3$5572.r ; assign \\f$x.v:3$5572.r = n$12 ;"
    b = "wire \\f$x.v:3$5484.r ; assign \\f$x.v:3$5484.r = n$7 ;"
    assert canonical_netlist(a) == canonical_netlist(b)
    c = "wire \\f$x.v:3$5484.r ; assign \\f$x.v:3$5485.r = n$7 ;"  # two nets where there was one
    assert canonical_netlist(a) != canonical_netlist(c)


def test_the_reduced_pdk_liberty_is_cached_and_keeps_every_usable_cell(tmp_path, monkeypatch):
    cfg = load_config(CONFIG_DIR / "test_small.yaml")
    pdk = load_pdk_config(cfg["pdk"])
    source = pdk_root() / pdk.stdcell["liberty"]
    monkeypatch.chdir(tmp_path)
    path, meta = synthesis_liberty(source, pdk.stdcell["dont_use"], Path("cache"))  # relative, as the rules pass it
    assert path.is_absolute() and path.parent == tmp_path / "cache"
    assert meta["reduced"] and meta["cells_kept"] > 300 and meta["bytes"] < 0.7 * meta["source_bytes"]
    clock_gate = pdk.stdcell["clock_gate"].split("/")[0]
    text = path.read_text()
    assert f'cell ("{clock_gate}")' in text and "sky130_fd_sc_hd__fill_1" not in text
    mtime = path.stat().st_mtime_ns
    assert synthesis_liberty(source, pdk.stdcell["dont_use"], Path("cache"))[0].stat().st_mtime_ns == mtime
    # Another dont-use list is another file.
    other, _ = synthesis_liberty(source, [*pdk.stdcell["dont_use"], "sky130_fd_sc_hd__buf_16"], Path("cache"))
    assert other != path and 'cell ("sky130_fd_sc_hd__buf_16")' not in other.read_text()


@pytest.mark.slow
def test_synthesis_on_the_reduced_liberty_gives_the_same_netlist(tmp_path):
    """One design per encoding family would be slow here; benchmarks/synthesis_liberty.py checks
    every design of the small configuration."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from synthesis_liberty import synthesized

    from spikemem.rtl.render import render_stage

    cfg = load_config(CONFIG_DIR / "test_small.yaml")
    design = next(d for d in designs(cfg) if d.name == "pb_bmp-fc8x8-w2")
    rtl = tmp_path / "rtl"
    render_stage(cfg, design, rtl)
    full, _ = synthesized(cfg, design, rtl, tmp_path / "full", False, tmp_path / "cache")
    reduced, _ = synthesized(cfg, design, rtl, tmp_path / "reduced", True, tmp_path / "cache")
    assert canonical_netlist(full) == canonical_netlist(reduced)
