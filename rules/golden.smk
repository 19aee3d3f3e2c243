# Golden models: the memory image and access statistics of every design.


rule golden:
    input:
        config=RESOLVED,
        model=encoding_module,
    output:
        "results/golden/{design}/golden.json",
    log:
        "logs/golden/{design}.log",
    benchmark:
        "results/benchmarks/golden/{design}.tsv"
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} golden --config {input.config} --design {wildcards.design} --out {output} > {log} 2>&1 || (echo failed, last lines of {log}: >&2; tail -n 25 {log} >&2; exit 1)"


rule storage_bits:
    input:
        expand("results/golden/{design}/golden.json", design=DESIGNS),
    output:
        "results/golden/storage_bits.csv",
    log:
        "logs/storage_bits.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} tabulate-golden --out {output} {input} > {log} 2>&1 || (echo failed, last lines of {log}: >&2; tail -n 25 {log} >&2; exit 1)"
