# Network energy, then the comparison report.


rule network_energy:
    input:
        config=ALL_CONFIG,
        table="results/energy/energy_table.csv",
        runs=expand("results/snn/runs/{run}/metrics.json", run=SNN_RUNS),
        inputs="results/snn/data/inputs.npy",
        target="results/snn/data/target.npy",
        code=rule_code("network_energy"),
    output:
        networks="results/energy/network_energy.csv",
        layers="results/energy/network_layers.csv",
        fc="results/energy/fc_sweeps.csv",
        conv="results/energy/conv_sweep.csv",
        provenance="results/energy/network_energy.provenance.json",
    log:
        "logs/network_energy.log",
    benchmark:
        "results/benchmarks/network_energy/all.tsv"
    # The last heavy job, after every characterization: both cores are free, and the networks and
    # sweep points are priced in parallel (identical results for any number of processes).
    threads: 2
    resources:
        mem_mb=3000,
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} energy --config {input.config} --table {input.table} --out-dir results/energy "
        "--workers {threads} --data-dir results/snn/data {input.runs} > {log} 2>&1"


rule direct_energy:
    input:
        config=ALL_CONFIG,
        table="results/energy/energy_table.csv",
        chars=expand("results/synth/{design}/characterization.json", design=TRAINED_DESIGNS),
        workloads=expand("results/workloads/{design}.npz", design=TRAINED_DESIGNS),
        runs=expand("results/snn/runs/{run}/metrics.json", run=SNN_RUNS),
        code=rule_code("direct_energy"),
    output:
        table="results/energy/network_direct.csv",
        provenance="results/energy/network_direct.provenance.json",
    log:
        "logs/direct_energy.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} direct-energy --config {input.config} --table {input.table} --workload-dir results/workloads "
        "--out {output.table} {input.chars} > {log} 2>&1"


rule report:
    input:
        table="results/energy/energy_table.csv",
        networks="results/energy/network_energy.csv",
        layers="results/energy/network_layers.csv",
        fc="results/energy/fc_sweeps.csv",
        conv="results/energy/conv_sweep.csv",
        direct=["results/energy/network_direct.csv"] if TRAINED_DESIGNS else [],
        snn="results/snn/summary.csv",
        target="results/snn/data/target.npy",
        chars=expand("results/synth/{design}/characterization.json", design=DESIGNS),
        verify="results/verify/summary.csv",
        gating=["results/synth/clock_gating.csv"] if GATING_REFERENCES else [],
        variants=["results/synth/memory_variants.csv"] if MEMORY_VARIANTS else [],
        tools="results/provenance/tools.json",
        pdk="results/provenance/pdk.json",
        config=ALL_CONFIG,
        code=rule_code("report"),
    output:
        html="results/report/index.html",
        claims="results/report/claims.csv",
        sensitivity="results/report/sram_sensitivity.csv",
        manifest="results/report/manifest.json",
        figures=[
            report(f"results/report/figures/{name}.png", category="spikemem")
            for name in REPORT_FIGURES
        ],
    log:
        "logs/report.log",
    benchmark:
        "results/benchmarks/report/all.tsv"
    conda:
        ENV
    shell:
        "python -m analysis report --results results --out-dir results/report > {log} 2>&1"
