"""A ``yosys`` command on top of PyPI's pyosys, for machines without a Yosys >= 0.48 with Tcl.

SiliconCompiler 0.38 runs ``yosys --version`` and ``yosys -c script.tcl``. pyosys ships a current
libyosys (and ``yosys-abc``) but no executable, and its libyosys is built without Tcl. This front-end
provides the executable: a Tcl interpreter from Python's tkinter, with Yosys's Tcl commands
(``yosys ...``, ``yosys -import``, ``rtlil::get_attr/has_attr/set_attr``) implemented on the pyosys
API with the semantics of Yosys's own ``kernel/tclapi.cc``: a command's result is the scratchpad's
``result.json`` (as a Tcl list) or ``result.string``, and a failing command is a Tcl error.

Limitation: libyosys as built for PyPI ends the process on a Yosys error (``log_error`` exits; it
cannot be made to throw), so a Tcl ``catch`` around a failing Yosys command is not honoured: the
run stops with Yosys's ``ERROR:`` line and a non-zero exit, which is what SiliconCompiler checks.

Usage: ``python -m spikemem.synth.yosys_frontend [--version | -V] [-q] [-c script.tcl |
-s script.ys | -p "cmds"] [files...]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# pyosys must be imported before anything that loads another libstdc++-heavy extension.
from pyosys import libyosys as ys


def version() -> str:
    v = ys.yosys_maybe_version
    return v() if callable(v) else str(v)


class TclYosys:
    """One Tcl interpreter bound to one Yosys design."""

    def __init__(self, design) -> None:
        import tkinter

        self.design = design
        self.tcl = tkinter.Tcl()
        self.tcl.createcommand("yosys", self.yosys)
        self.tcl.eval("namespace eval rtlil {}")
        self.tcl.createcommand("rtlil::get_attr", self.get_attr)
        self.tcl.createcommand("rtlil::has_attr", self.has_attr)
        self.tcl.createcommand("rtlil::set_attr", self.set_attr)

    # ---- conversions
    def _to_tcl(self, value) -> str:
        if isinstance(value, list):
            return self.tcl.call("list", *[self._to_tcl(v) for v in value])
        if isinstance(value, dict):
            flat = [x for k, v in value.items() for x in (str(k), self._to_tcl(v))]
            return self.tcl.call("list", *flat)
        if isinstance(value, bool):
            return "1" if value else "0"
        if value is None:
            return "null"
        return str(value)

    # ---- commands
    def yosys(self, *args: str) -> str:
        if args and args[0] == "-import":
            for name in sorted(ys.pass_register.keys() if hasattr(ys, "pass_register") else []):
                tcl_name = {"proc": "procs", "rename": "renames"}.get(name, name)
                if not self.tcl.eval(f"info commands {{{tcl_name}}}"):
                    self.tcl.eval(f"proc {{{tcl_name}}} args {{ yosys {{{name}}} {{*}}$args }}")
            return ""
        self.design.scratchpad_unset("result.json")
        self.design.scratchpad_unset("result.string")
        try:
            if args and args[0] == "tee" and "-s" in args:
                self._tee_to_scratchpad(list(args))
            elif len(args) == 1:
                ys.Pass.call(self.design, args[0])
            else:
                ys.Pass.call(self.design, list(args))
        except Exception as e:  # a Yosys command error: the script sees a Tcl error, as in Yosys
            raise RuntimeError(f"Yosys command produced an error: {e}") from None
        pad = self.design.scratchpad
        if "result.json" in pad:
            return self._to_tcl(json.loads(self.design.scratchpad_get_string("result.json")))
        if "result.string" in pad:
            return self.design.scratchpad_get_string("result.string")
        return ""

    def _tee_to_scratchpad(self, args: list[str]) -> None:
        """``tee [-q] -s VAR cmd...``: libyosys as built for pyosys does not fill the scratchpad
        from ``tee -s``, so capture the log on file descriptor 1 and store it ourselves."""
        import os
        import tempfile

        var = args[args.index("-s") + 1]
        quiet = "-q" in args
        command = [a for k, a in enumerate(args) if a != "-q" and not (k and args[k - 1] == "-s") and a != "-s"]
        _flush_all()
        saved = os.dup(1)
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 1)
            try:
                ys.Pass.call(self.design, command)
            finally:
                _flush_all()
                os.dup2(saved, 1)
                os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace")
        if not quiet:
            sys.stdout.write(text)
            sys.stdout.flush()
        self.design.scratchpad_set_string(var, _strip_command_echo(text))

    def _object(self, args: list[str], flags: set[str]):
        mod_flag = "-mod" in flags
        module = self.design.module(ys.IdString(_escape(args[0])))
        if module is None:
            raise RuntimeError("module not found")
        if mod_flag:
            return module, args[1:]
        name = ys.IdString(_escape(args[1]))
        for getter in (module.wire, module.cell):
            obj = getter(name)
            if obj is not None:
                return obj, args[2:]
        raise RuntimeError("object not found")

    @staticmethod
    def _split_flags(args, known):
        flags, rest = set(), list(args)
        while rest and rest[0] in known:
            flags.add(rest.pop(0))
        return flags, rest

    def has_attr(self, *args: str) -> str:
        flags, rest = self._split_flags(args, {"-mod"})
        obj, (attr,) = self._object(rest, flags)
        return "1" if obj.has_attribute(ys.IdString(_escape(attr))) else "0"

    def get_attr(self, *args: str) -> str:
        flags, rest = self._split_flags(args, {"-mod", "-string", "-int", "-sint", "-uint", "-bool"})
        obj, (attr,) = self._object(rest, flags)
        key = ys.IdString(_escape(attr))
        if "-string" in flags:
            return obj.get_string_attribute(key)
        if "-bool" in flags:
            return "1" if obj.get_bool_attribute(key) else "0"
        if not obj.has_attribute(key):
            raise RuntimeError("attribute missing")
        value = obj.attributes[key]
        if flags & {"-int", "-sint", "-uint"}:
            return str(value.as_int("-sint" in flags))
        return value.as_string()

    def set_attr(self, *args: str) -> str:
        flags, rest = self._split_flags(args, {"-mod", "-string", "-sint", "-uint", "-bool", "-true", "-false"})
        if "-mod" not in flags:
            raise RuntimeError("the pyosys front-end implements rtlil::set_attr for modules (-mod) only")
        module, attr = rest[0], rest[1]
        if "-true" in flags or "-false" in flags:
            value = "1" if "-true" in flags else "0"
        elif "-string" in flags:
            value = '"' + rest[2].replace('"', '\\"') + '"'
        elif "-bool" in flags:
            value = "1" if int(rest[2]) else "0"
        else:
            value = str(int(rest[2])) if flags & {"-sint", "-uint"} else rest[2]
        # The attribute dicts pyosys returns are copies; the setattr pass writes the real one.
        ys.Pass.call(self.design, ["setattr", "-mod", "-set", attr, value, _escape(module)])
        return ""

    def source(self, script: str, argv: list[str]) -> None:
        self.tcl.setvar("argv", self.tcl.call("list", *argv))
        self.tcl.setvar("argc", str(len(argv)))
        self.tcl.eval(f"source {{{script}}}")


def _flush_all() -> None:
    """Flush Python's and C's stdio buffers (Yosys logs through C's ``stdout``)."""
    import ctypes

    sys.stdout.flush()
    ys.log_flush()
    ctypes.CDLL(None).fflush(None)


def _strip_command_echo(text: str) -> str:
    """Drop Yosys's ``N. Executing ...`` headers so the result holds what the command printed."""
    lines = text.splitlines(keepends=True)
    out, skip_blank = [], False
    for line in lines:
        if line.lstrip()[:1].isdigit() and ". Executing " in line:
            skip_blank = True
            continue
        if skip_blank and not line.strip():
            skip_blank = False
            continue
        skip_blank = False
        out.append(line)
    return "".join(out)


def _escape(name: str) -> str:
    return name if name.startswith(("\\", "$")) else "\\" + name


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args or "-V" in args:
        print(version())
        return 0
    tcl_script = ys_script = None
    commands: list[str] = []
    files: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-c":
            tcl_script, i = args[i + 1], i + 2
        elif a == "-s":
            ys_script, i = args[i + 1], i + 2
        elif a == "-p":
            commands.append(args[i + 1])
            i += 2
        elif a in ("-q", "-Q", "-T", "-C"):
            i += 1  # quiet/banners: accepted; -C (interactive shell after the script) is not offered
        elif a.startswith("-"):
            print(f"ERROR: option {a} is not supported by the pyosys front-end", file=sys.stderr)
            return 1
        else:
            files.append(a)
            i += 1
    design = ys.Design()
    try:
        for f in files:
            ys.run_pass(f"read {f}", design)
        if ys_script:
            ys.run_pass(f"script {ys_script}", design)
        for cmd in commands:
            ys.run_pass(cmd, design)
        if tcl_script:
            TclYosys(design).source(str(Path(tcl_script)), [])
    except Exception as e:  # noqa: BLE001 - report any failure the way Yosys does
        print(f"ERROR: {e}", flush=True)
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
