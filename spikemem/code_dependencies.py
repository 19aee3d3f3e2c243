"""Which project source files each workflow stage's results depend on, derived from the imports.

A rule lists its stage's code as inputs, so editing a module reruns exactly the rules whose CLI
stage imports it (directly or through other project modules, including imports inside functions)
and what depends on their outputs. The import graph is read from the sources with :mod:`ast`, not
by importing them, so the Snakefile can call this at parse time cheaply and without side effects.

Two refinements keep reruns exact:

* A design's rules depend on its own encoding's modules only (its class and the classes it derives
  from), not on every registered encoding that ``spikemem.encodings`` imports.
* ``spikemem/cli.py`` is argument plumbing: each command calls one stage function, whose module is
  the stage's entry here, so the CLI module is not a dependency (editing a help text reruns nothing).

Data files a stage reads besides its code (templates, claim values, PDK configurations) are listed
with the stage too, so that one table holds everything a rule's results depend on.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .paths import PROJECT_ROOT

PACKAGES = ("spikemem", "analysis")


@dataclass(frozen=True)
class Stage:
    """The modules a stage's CLI command runs, the data files it reads, and which encodings'
    golden models its results depend on: ``"design"`` (per-design rules: the design's own),
    ``"all"`` (tables over every encoding) or ``"none"`` (stages that import the encodings package
    for shared types only)."""

    entries: tuple[str, ...]
    data: tuple[str, ...] = ()
    encodings: str = "all"

    @property
    def per_design(self) -> bool:
        return self.encodings == "design"


# The PDK configurations name the cells and macros the hardware stages instantiate.
PDK_CONFIGS = tuple(sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "pdk_configs").glob("*.yaml")))

# The transistor-level SRAM energies the report shows (spikemem sram-characterize, committed).
SRAM_ENERGY_FILES = tuple(
    sorted(str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "data" / "sram_energy").glob("*.json"))
)

# One row per rule: the module(s) holding the function its CLI command calls.
STAGES: dict[str, Stage] = {
    "doctor": Stage(("spikemem.tools",)),
    "pdk_check": Stage(("spikemem.pdk",), data=PDK_CONFIGS, encodings="none"),
    "golden": Stage(("spikemem.golden",), encodings="design"),
    "storage_bits": Stage(("spikemem.golden",)),
    "rtl_render": Stage(("spikemem.rtl.render",), data=PDK_CONFIGS, encodings="design"),
    "rtl_verify": Stage(("spikemem.rtl.stage",), encodings="design"),
    "verify_summary": Stage(("spikemem.rtl.stage",), encodings="none"),
    "characterize": Stage(("spikemem.synth.characterize",), data=PDK_CONFIGS, encodings="design"),
    "energy_table": Stage(("spikemem.synth.energy_table", "spikemem.config")),
    "clock_gating_table": Stage(("spikemem.synth.clock_gating", "spikemem.synth.energy_table"), encodings="none"),
    "memory_variants_table": Stage(("spikemem.synth.memory_variants", "spikemem.synth.energy_table"), encodings="none"),
    "snn_data": Stage(("spikemem.snn.data",)),
    "snn_train": Stage(("spikemem.snn.stages",)),
    "trained_workload": Stage(("spikemem.snn.replay",), encodings="none"),
    "snn_summary": Stage(("spikemem.snn.stages",)),
    "snn_data_figures": Stage(("analysis.snn_figures",)),
    "snn_run_figure": Stage(("analysis.snn_figures",)),
    "network_energy": Stage(("spikemem.network_energy",)),
    "direct_energy": Stage(("spikemem.direct_energy",)),
    "price": Stage(("spikemem.nir_pricing",)),
    "snn_export": Stage(("spikemem.snn.nir_export",)),
    "report": Stage(
        ("analysis.report",),
        data=("analysis/paper_claims.yaml", "templates/report/index.html.j2", *SRAM_ENERGY_FILES),
    ),
}


def _module_file(module: str) -> Path | None:
    """The source file of a project module or package, or None if it is not part of the project."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_package(module: str) -> bool:
    return (PROJECT_ROOT.joinpath(*module.split(".")) / "__init__.py").is_file()


def _imports(module: str) -> set[str]:
    """Project modules ``module`` imports anywhere in its source, with the packages that hold them."""
    path = _module_file(module)
    if path is None:
        return set()
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base_parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            found.add(base)
            # `from pkg import name` imports the submodule pkg.name when there is one.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    modules = {m for m in found if _module_file(m) is not None}
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    for m in list(modules):
        parts = m.split(".")
        modules.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return {m for m in modules if _module_file(m) is not None}


@cache
def module_closure(entries: tuple[str, ...]) -> frozenset[str]:
    """Every project module the entries import, transitively (the entries included)."""
    seen: set[str] = set()
    todo = list(entries)
    for entry in entries:
        parts = entry.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    while todo:
        m = todo.pop()
        if m in seen or _module_file(m) is None:
            continue
        seen.add(m)
        todo.extend(_imports(m) - seen)
    return frozenset(seen)


def _relative(path: Path) -> str:
    return str(path.resolve().relative_to(PROJECT_ROOT))


def encoding_files(encoding: str) -> list[str]:
    """The golden-model modules of one encoding: its class and the classes it derives from."""
    from .encodings import get_encoding

    cls = get_encoding(encoding)
    return sorted(
        {_relative(Path(inspect.getfile(k))) for k in cls.__mro__ if k.__module__.startswith("spikemem.encodings")}
    )


@cache
def _encoding_specific_files() -> frozenset[str]:
    """Modules that belong to some encodings but not all (what a design of another encoding ignores)."""
    from .encodings import REGISTRY

    per_encoding = [set(encoding_files(name)) for name in REGISTRY]
    return frozenset(set.union(*per_encoding) - set.intersection(*per_encoding))


def stage_code(stage: str, encoding: str | None = None) -> list[str]:
    """The project files (relative to the project root) whose edits change ``stage``'s results;
    for a per-design stage, those of the design's ``encoding``."""
    try:
        spec = STAGES[stage]
    except KeyError:
        raise KeyError(f"no code dependencies declared for stage {stage!r}; add it to STAGES") from None
    files = {_relative(_module_file(m)) for m in module_closure(spec.entries)}
    if spec.encodings != "all":
        files -= _encoding_specific_files()
    if spec.per_design:
        if encoding is None:
            raise ValueError(f"stage {stage} is per design: give the design's encoding")
        files |= set(encoding_files(encoding))
    return sorted(files | set(spec.data))


def rule_code(stage: str):
    """The ``code=`` input function of a rule: a per-design stage reads the design wildcard
    (design names start with the encoding), others ignore the wildcards."""
    if STAGES[stage].per_design:
        return lambda wildcards: stage_code(stage, wildcards.design.split("-")[0])
    return lambda wildcards: stage_code(stage)


def stages_using(path: str, encodings: Iterable[str] = ()) -> set[str]:
    """The stages whose results depend on the project file ``path`` (for tests and for users who
    want to know what an edit reruns); per-design stages count if any of ``encodings`` uses it."""
    out = set()
    for name, spec in STAGES.items():
        if spec.per_design:
            if any(path in stage_code(name, e) for e in encodings):
                out.add(name)
        elif path in stage_code(name):
            out.add(name)
    return out
