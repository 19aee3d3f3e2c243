"""Synthesis (SiliconCompiler + Yosys), gate-level activity, power, and the energy table."""
