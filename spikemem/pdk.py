"""PDK discovery: the files a PDK configuration names, found under ``$PDK_ROOT`` and checked."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .encodings import SramMacro
from .paths import PDK_CONFIG_DIR

INSTALL_HINT = (
    "Set PDK_ROOT to a directory holding sky130A/libs.ref/... in the open_pdks layout "
    "(on this project's machines: export PDK_ROOT=$(realpath ../shared/pdk); elsewhere install "
    "one with `pip install ciel && ciel enable --pdk sky130 <version>` or volare)."
)


class PdkError(RuntimeError):
    """A PDK configuration or file that cannot be found or used."""


@dataclass(frozen=True)
class MacroFiles:
    macro: SramMacro
    liberty: str
    lef: str


@dataclass(frozen=True)
class PdkConfig:
    """A parsed ``pdk_configs/<name>.yaml``; paths are relative to ``$PDK_ROOT``."""

    name: str
    pdk: str
    stdcell: dict
    sram_macros: dict[str, MacroFiles] = field(default_factory=dict)
    source: Path | None = None

    def files(self) -> dict[str, str]:
        """Every file the flow needs, keyed by role."""
        out = {f"stdcell.{k}": self.stdcell[k] for k in ("liberty", "lef", "techlef")}
        for name, m in self.sram_macros.items():
            out[f"sram.{name}.liberty"] = m.liberty
            out[f"sram.{name}.lef"] = m.lef
        return out

    def path(self, relative: str, root: Path | None = None) -> Path:
        return (root or pdk_root()) / relative

    def macro(self, name: str) -> SramMacro:
        return self.sram_macros[name].macro

    @property
    def clock_gate(self) -> dict[str, str] | None:
        """The integrated clock-gate cell and its pins (``cell``, ``clock``, ``enable``, ``gated``),
        from ``stdcell.clock_gate: CELL/CLK/ENABLE/GATED``; None where the library names none."""
        spec = self.stdcell.get("clock_gate")
        if not spec:
            return None
        parts = spec.split("/")
        if len(parts) != 4:
            raise ValueError(f"{self.source}: stdcell.clock_gate must be CELL/CLK/ENABLE/GATED, got {spec!r}")
        return dict(zip(("cell", "clock", "enable", "gated"), parts, strict=True))


def load_pdk_config(name: str) -> PdkConfig:
    """Read ``pdk_configs/<name>.yaml``."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise PdkError(f"PDK configuration name {name!r} is not a plain name")
    path = PDK_CONFIG_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PDK_CONFIG_DIR.glob("*.yaml")))
        raise PdkError(f"no PDK configuration {path.name} in {PDK_CONFIG_DIR} (known: {known})")
    with open(path) as f:
        raw = yaml.safe_load(f)
    macros = {
        n: MacroFiles(SramMacro(n, int(m["word_bits"]), int(m["depth"])), m["liberty"], m["lef"])
        for n, m in raw["sram_macros"].items()
    }
    return PdkConfig(raw["name"], raw["pdk"], raw["stdcell"], macros, path)


def pdk_root() -> Path:
    """``$PDK_ROOT`` as an absolute path; a clear error where it is unset or missing."""
    value = os.environ.get("PDK_ROOT")
    if not value:
        raise PdkError("PDK_ROOT is not set. " + INSTALL_HINT)
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise PdkError(f"PDK_ROOT={value} is not a directory. " + INSTALL_HINT)
    return root


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _lef_bus_width(lef_text: str, pin: str) -> int:
    return len(re.findall(rf"^\s*PIN {pin}\[\d+\]\s*$", lef_text, flags=re.M))


def check_pdk(cfg: PdkConfig, root: Path | None = None, hashes: bool = True) -> dict:
    """Verify every file of ``cfg`` under the PDK root and that each macro's LEF matches its
    declared word width and depth. Returns ``{role: {path, sha256}}``; raises :class:`PdkError`
    listing every problem at once."""
    root = root or pdk_root()
    problems, found = [], {}
    for role, rel in cfg.files().items():
        p = root / rel
        if not p.is_file():
            problems.append(f"missing {role}: {p}")
            continue
        found[role] = {"path": rel, "sha256": sha256(p) if hashes else None}
    for name, m in cfg.sram_macros.items():
        lef = root / m.lef
        if not lef.is_file():
            continue
        text = lef.read_text(errors="replace")
        width, abits = _lef_bus_width(text, "din0"), _lef_bus_width(text, "addr0")
        if width != m.macro.word_bits or 2**abits != m.macro.depth:
            problems.append(
                f"{name}: LEF has din0 of {width} bits and addr0 of {abits} bits, "
                f"configuration says {m.macro.word_bits} x {m.macro.depth}"
            )
    if problems:
        raise PdkError(
            f"PDK check failed for {cfg.name} under PDK_ROOT={root}:\n  " + "\n  ".join(problems) + "\n" + INSTALL_HINT
        )
    return found
