"""SRAM macros at transistor level: the OpenRAM macros' schematic netlists reduced to the circuits one
access exercises (``netlist``) and simulated in ngspice (``transient``) for the energy per read,
write and deselected cycle that the macros' Liberty only estimates (docs/energy.md)."""
