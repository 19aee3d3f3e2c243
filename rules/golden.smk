# Golden models: the memory image and access statistics of every design.


rule golden:
    input:
        config=RESOLVED,
        code=rule_code("golden"),
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
        "{params.cli} golden --config {input.config} --design {wildcards.design} --out {output} > {log} 2>&1"


rule storage_bits:
    input:
        images=expand("results/golden/{design}/golden.json", design=DESIGNS),
        code=rule_code("storage_bits"),
    output:
        "results/golden/storage_bits.csv",
    log:
        "logs/storage_bits.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} tabulate-golden --out {output} {input.images} > {log} 2>&1"
