# The two commands of a fresh machine: `make run` (the default pipeline) and `make test`.
# Both create or reuse .venv, install the Python dependencies (pinned by constraints.txt) and,
# as root, the Debian EDA tools that are missing.

VENV      ?= .venv
CORES     ?= 2
PDK_ROOT  ?= $(abspath ../shared/pdk)
export PDK_ROOT
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run resume test lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

setup: $(VENV)/.installed
	bash scripts/install_system_tools.sh

# --keep-going: one failing design does not stop the other designs' jobs (the report, which needs
# them all, is then not built; the run's last lines name the failed job and its log).
run: setup
	snakemake --cores $(CORES) --keep-going all

# After an interruption or a fixed failure: release Snakemake's lock, rerun what is incomplete, and
# continue; finished results are kept.
resume: setup
	snakemake --unlock all
	snakemake --cores $(CORES) --keep-going --rerun-incomplete all

# chromium for the report check; slurm + munge for the one-node cluster of the SLURM test; ngspice for
# the transistor-level SRAM harness.
# -rs lists every skip with its reason. --dist loadgroup keeps the tests that share the small run on one worker (it is built once).
test: setup
	bash scripts/install_system_tools.sh --optional chromium slurmctld slurmd slurm-client munge ngspice
	python -m pytest -q -rs -n 2 --dist loadgroup --durations=15

lint: setup
	ruff check . && snakemake --lint

clean:
	rm -rf results logs .snakemake
