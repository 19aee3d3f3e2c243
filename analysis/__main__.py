"""``python -m analysis <command>``: the figure and report steps the Snakemake rules call."""

from __future__ import annotations

import argparse

from . import snn_figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("snn-data", help="pictures of the input trains and the target")
    d.add_argument("--data-dir", required=True)
    d.add_argument("--inputs-png", required=True)
    d.add_argument("--target-png", required=True)
    r = sub.add_parser("snn-run", help="training curve and output raster of one run")
    r.add_argument("--run-dir", required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--out", required=True)
    sub.add_parser("report", help="the comparison report (see analysis.report)", add_help=False)
    if argv is None:
        import sys

        argv = sys.argv[1:]
    if argv and argv[0] == "report":
        from .report import main as report_main

        return report_main(argv[1:])
    args = p.parse_args(argv)
    if args.command == "snn-data":
        snn_figures.data_figures(args.data_dir, args.inputs_png, args.target_png)
    else:
        snn_figures.run_figure(args.run_dir, args.target, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
