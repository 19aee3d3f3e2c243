# The spiking-network experiment: data, one training run per weight width and seed, summary.

SNN_RUNS = run_names(CFG)  # <training set>/w<bits>-s<seed>
SNN_RUN_FILES = ("curve.csv", "events.csv", "best_output.npy", "best_levels.npz", "final_levels.npz", "metrics.json")
TRAINING_SETS = "|".join(t.name for t in training_sets(CFG))


# Training is the longest work (minutes per job, single-core): start it first so it overlaps the
# hardware stages instead of trailing them (longest-first). The profile's scheduler subsample draws 20
# ready jobs at random; whenever one of these is drawn it outranks every hardware job.
TRAINING_PRIORITY = 50


rule snn_data:
    priority: TRAINING_PRIORITY
    input:
        config=SNN_CONFIG,
        code=rule_code("snn_data"),
    output:
        inputs="results/snn/data/inputs.npy",
        target="results/snn/data/target.npy",
        meta="results/snn/data/data.json",
    log:
        "logs/snn/data.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} snn data --config {input.config} --out-dir results/snn/data > {log} 2>&1"


rule snn_train:
    """One seed of a training set (protocol and sweep point): its networks of every width trained
    together as one batch on one core. Batching more (seeds too) gains nothing per network (see
    benchmarks/snn_epoch.py): two single-thread jobs use two cores better than one two-thread job."""
    priority: TRAINING_PRIORITY
    input:
        config=SNN_CONFIG,
        inputs=rules.snn_data.output.inputs,
        target=rules.snn_data.output.target,
        code=rule_code("snn_train"),
    output:
        expand(
            "results/snn/runs/{{tset}}/w{wb}-s{{seed}}/{f}",
            wb=CFG["snn"]["weight_bits"],
            f=SNN_RUN_FILES,
        ),
    log:
        "logs/snn/train-{tset}-s{seed}.log",
    benchmark:
        "results/benchmarks/snn_train/{tset}-s{seed}.tsv"
    wildcard_constraints:
        tset=TRAINING_SETS,
        seed=r"\d+",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        cli=SPIKEMEM_WITH_PROGRESS,
        to_terminal=PROGRESS_TO_TERMINAL,
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} NUMBA_NUM_THREADS={threads} "
        "{params.cli} snn train --config {input.config} --training-set {wildcards.tset} --seed {wildcards.seed} "
        "--data-dir results/snn/data --runs-dir results/snn/runs {params.to_terminal} > {log} 2>&1"


rule snn_summary:
    input:
        metrics=expand("results/snn/runs/{run}/metrics.json", run=SNN_RUNS),
        code=rule_code("snn_summary"),
    output:
        summary="results/snn/summary.csv",
        scores="results/snn/retention.csv",
    log:
        "logs/snn/summary.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} snn summary --out {output.summary} --scores {output.scores} {input.metrics} > {log} 2>&1"


rule snn_data_figures:
    input:
        inputs=rules.snn_data.output.inputs,
        target=rules.snn_data.output.target,
        code=rule_code("snn_data_figures"),
    output:
        inputs="results/snn/data/inputs.png",
        target="results/snn/data/target.png",
    log:
        "logs/snn/data_figures.log",
    conda:
        ENV
    shell:
        "python -m analysis snn-data --data-dir results/snn/data --inputs-png {output.inputs} "
        "--target-png {output.target} > {log} 2>&1"


rule snn_run_figure:
    input:
        metrics="results/snn/runs/{tset}/w{wb}-s{seed}/metrics.json",
        target=rules.snn_data.output.target,
        code=rule_code("snn_run_figure"),
    output:
        "results/snn/runs/{tset}/w{wb}-s{seed}/training.png",
    log:
        "logs/snn/figure-{tset}-w{wb}-s{seed}.log",
    benchmark:
        "results/benchmarks/snn_run_figure/{tset}-w{wb}-s{seed}.tsv"
    wildcard_constraints:
        tset=r"[a-z]+-[a-z0-9]+(-frozen)?",
        wb=r"\d+",
        seed=r"\d+",
    params:
        run_dir=lambda wc: f"results/snn/runs/{wc.tset}/w{wc.wb}-s{wc.seed}",
    conda:
        ENV
    shell:
        "python -m analysis snn-run --run-dir {params.run_dir} --target {input.target} --out {output} > {log} 2>&1"
