# Your own networks, priced (README, "Price your own network"): one job per NIR file listed in the
# configuration's price.models (none by default); and the trained networks exported as NIR files.

PRICE_MODELS = price_models(CFG)  # output name -> entry


rule price:
    input:
        config=ALL_CONFIG,
        table="results/energy/energy_table.csv",
        model=lambda wildcards: price_model_files(PRICE_MODELS[wildcards.name]),
        code=rule_code("price"),
    output:
        layers="results/price/{name}.csv",
        networks="results/price/{name}.network.csv",
        provenance="results/price/{name}.provenance.json",
    wildcard_constraints:
        name="[A-Za-z][A-Za-z0-9_]*",
    log:
        "logs/price/{name}.log",
    params:
        cli=SPIKEMEM,
        model=lambda wildcards: PRICE_MODELS[wildcards.name]["path"],
        options=lambda wildcards: price_model_options(PRICE_MODELS[wildcards.name]),
    conda:
        ENV
    shell:
        "{params.cli} price {params.model} --config {input.config} --table {input.table} "
        "--out {output.layers} {params.options} > {log} 2>&1"


rule snn_export:
    input:
        metrics="results/snn/runs/{set}/w{bits}-s{seed}/metrics.json",
        levels="results/snn/runs/{set}/w{bits}-s{seed}/best_levels.npz",
        code=rule_code("snn_export"),
    output:
        "results/snn/nir/{set}/w{bits}-s{seed}.nir",
    log:
        "logs/snn/export/{set}/w{bits}-s{seed}.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} snn export --out-dir results/snn/nir {input.metrics} > {log} 2>&1"
