# Synthesis, gate-level activity and power of every design, then the energy table.


rule characterize:
    input:
        config=variant_config,
        manifest="results/rtl{variant}/{design}/manifest.json",
        verified="results/verify{variant}/{design}.json",
        workload=TRAINED_WORKLOAD,
        code=rule_code("characterize"),
    output:
        "results/synth{variant}/{design}/characterization.json",
    log:
        "logs/synth{variant}/{design}.log",
    benchmark:
        "results/benchmarks/characterize{variant}/{design}.tsv"
    threads: 1
    # The macro sweep's 151-macro designs peak at about 3.5 GB (their Verilator build).
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cli=SPIKEMEM_WITH_PROGRESS,
        to_terminal=PROGRESS_TO_TERMINAL,
        rtl_dir=lambda wc: f"results/rtl{wc.variant}/{wc.design}",
        work_dir=lambda wc: f"results/synth{wc.variant}/{wc.design}/work",
        variant=variant_option,
        workload=workload_option,
    conda:
        ENV
    shell:
        "{params.cli} characterize --config {input.config} --design {wildcards.design} {params.variant} "
        "--rtl-dir {params.rtl_dir} --work-dir {params.work_dir} --cache-dir results/synth/cache "
        "{params.workload} --out {output} {params.to_terminal} > {log} 2>&1"


rule trained_workload:
    """A trained layer's weights and events: its training set's best run of its width, one epoch
    replayed (characterization.network_layers)."""
    input:
        config=WORKLOADS_CONFIG,
        inputs="results/snn/data/inputs.npy",
        target="results/snn/data/target.npy",
        runs=trained_run_files(CFG),
        code=rule_code("trained_workload"),
    output:
        "results/workloads/{design}.npz",
    log:
        "logs/workloads/{design}.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} workload --config {input.config} --design {wildcards.design} --data-dir results/snn/data "
        "--runs-dir results/snn/runs --out {output} > {log} 2>&1"


rule energy_table:
    input:
        config=ENERGY_MODEL_CONFIG,
        chars=expand("results/synth/{design}/characterization.json", design=DESIGNS),
        code=rule_code("energy_table"),
    output:
        table="results/energy/energy_table.csv",
        schema="results/energy/energy_table.schema.json",
        provenance="results/energy/energy_table.provenance.json",
        validation="results/energy/energy_table.validation.csv",
    log:
        "logs/energy_table.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} energy-table --config {input.config} --out {output.table} {input.chars} > {log} 2>&1"



rule clock_gating_table:
    input:
        gated=expand("results/synth/{design}/characterization.json", design=GATING_REFERENCES),
        ungated=expand("results/synth-ungated/{design}/characterization.json", design=GATING_REFERENCES),
        code=rule_code("clock_gating_table"),
    output:
        "results/synth/clock_gating.csv",
    log:
        "logs/clock_gating_table.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} tabulate-gating --out {output} --gated {input.gated} --ungated {input.ungated} > {log} 2>&1"


rule memory_variants_table:
    input:
        main=[f"results/synth/{d}/characterization.json" for v, d in MEMORY_VARIANTS],
        variants=[f"results/synth-{v}/{d}/characterization.json" for v, d in MEMORY_VARIANTS],
        code=rule_code("memory_variants_table"),
    output:
        "results/synth/memory_variants.csv",
    log:
        "logs/memory_variants_table.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} tabulate-variants --out {output} --main {input.main} --variants {input.variants} > {log} 2>&1"
