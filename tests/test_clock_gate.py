"""The integrated clock gate's simulation model (the library gives it no function) against an
enable register, in both simulators; and the clock-gated SRAM bank against the golden model."""

from __future__ import annotations

import subprocess

import pytest

from spikemem.pdk import load_pdk_config
from spikemem.rtl.render import template_env

pytestmark = pytest.mark.tools

BENCH = """
`timescale 1ns/1ps
module tb;
    reg clk = 1'b0, en = 1'b0;
    reg [7:0] d = 8'd0, q_enable = 8'd0, q_gated = 8'd0;
    wire gclk;
    integer k, edges = 0, enabled_cycles = 0, errors = 0;
    reg [31:0] lfsr = 32'h1234_5678;
    {cell} u_gate (.{clock}(clk), .{enable}(en), .{gated}(gclk));
    always #5 clk = ~clk;
    always @(posedge clk) if (en) q_enable <= d;   // the reference: an enable register
    always @(posedge gclk) q_gated <= d;           // the same register behind the clock gate
    always @(posedge gclk) edges = edges + 1;
    // The enable also glitches while the clock is high: a latch-free gate would pass the glitch.
    always @(posedge clk) begin
        #2 en = lfsr[3];
    end
    initial begin
        for (k = 0; k < 2000; k = k + 1) begin
            @(negedge clk);
            if (q_enable !== q_gated) errors = errors + 1;
            lfsr = {{lfsr[30:0], lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]}};
            en = lfsr[0] & lfsr[5];                  // enabled about one cycle in four
            d = lfsr[15:8];
            if (en) enabled_cycles = enabled_cycles + 1;
        end
        @(negedge clk);
        $display("RESULT errors=%0d edges=%0d enabled=%0d", errors, edges, enabled_cycles);
        $finish;
    end
endmodule
"""


def _run(cmd: list[str], cwd) -> str:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_clock_gate_model_equals_an_enable_register(tmp_path, simulator):
    gate = load_pdk_config("sky130hd").clock_gate
    assert gate is not None
    (tmp_path / "gate.v").write_text(template_env().get_template("rtl/clock_gate_model.v.j2").render(g=gate))
    (tmp_path / "tb.v").write_text(BENCH.format(**gate))
    if simulator == "icarus":
        _run(["iverilog", "-g2005", "-s", "tb", "-o", "sim.vvp", "tb.v", "gate.v"], tmp_path)
        text = _run(["vvp", "-n", "sim.vvp"], tmp_path)
    else:
        _run(["verilator", "--binary", "--timing", "-Wno-fatal", "--top-module", "tb", "tb.v", "gate.v"], tmp_path)
        text = _run([str(tmp_path / "obj_dir" / "Vtb")], tmp_path)
    line = next(x for x in text.splitlines() if x.startswith("RESULT"))
    fields = dict(kv.split("=") for kv in line.split()[1:])
    assert int(fields["errors"]) == 0
    # The gated clock has one rising edge per enabled cycle and none otherwise.
    assert 300 < int(fields["enabled"]) < 700
    assert int(fields["edges"]) == int(fields["enabled"])
