# The spiking-network experiment: data, one training run per weight width and seed, summary.

SNN_RUNS = expand("w{wb}-s{seed}", wb=CFG["snn"]["weight_bits"], seed=CFG["snn"]["seeds"])


rule snn_data:
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
    input:
        config=SNN_CONFIG,
        inputs=rules.snn_data.output.inputs,
        target=rules.snn_data.output.target,
        code=rule_code("snn_train"),
    output:
        curve="results/snn/runs/w{wb}-s{seed}/curve.csv",
        events="results/snn/runs/w{wb}-s{seed}/events.csv",
        output="results/snn/runs/w{wb}-s{seed}/best_output.npy",
        levels="results/snn/runs/w{wb}-s{seed}/best_levels.npz",
        metrics="results/snn/runs/w{wb}-s{seed}/metrics.json",
    log:
        "logs/snn/train-w{wb}-s{seed}.log",
    benchmark:
        "results/benchmarks/snn_train/w{wb}-s{seed}.tsv"
    wildcard_constraints:
        wb=r"\d+",
        seed=r"\d+",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    params:
        cli=SPIKEMEM,
        out_dir=lambda wc: f"results/snn/runs/w{wc.wb}-s{wc.seed}",
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} "
        "{params.cli} snn train --config {input.config} --weight-bits {wildcards.wb} --seed {wildcards.seed} "
        "--data-dir results/snn/data --out-dir {params.out_dir} > {log} 2>&1"


rule snn_summary:
    input:
        metrics=expand("results/snn/runs/{run}/metrics.json", run=SNN_RUNS),
        code=rule_code("snn_summary"),
    output:
        "results/snn/summary.csv",
    log:
        "logs/snn/summary.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} snn summary --out {output} {input.metrics} > {log} 2>&1"


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
        metrics="results/snn/runs/w{wb}-s{seed}/metrics.json",
        target=rules.snn_data.output.target,
        code=rule_code("snn_run_figure"),
    output:
        "results/snn/runs/w{wb}-s{seed}/training.png",
    log:
        "logs/snn/figure-w{wb}-s{seed}.log",
    wildcard_constraints:
        wb=r"\d+",
        seed=r"\d+",
    params:
        run_dir=lambda wc: f"results/snn/runs/w{wc.wb}-s{wc.seed}",
    conda:
        ENV
    shell:
        "python -m analysis snn-run --run-dir {params.run_dir} --target {input.target} --out {output} > {log} 2>&1"
