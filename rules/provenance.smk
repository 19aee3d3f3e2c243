# Which tools and PDK files this run uses.


# Fails when a tool the configured flow needs is missing, its log naming the package to install; a
# missing optional tool (OpenROAD) only lowers the recorded flow level.
rule doctor:
    input:
        config=RESOLVED,
        code=rule_code("doctor"),
    output:
        "results/provenance/tools.json",
    log:
        "logs/doctor.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} doctor --config {input.config} --out {output} > {log} 2>&1"


rule pdk_check:
    input:
        config=RESOLVED,
        code=rule_code("pdk_check"),
    output:
        "results/provenance/pdk.json",
    log:
        "logs/pdk_check.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} pdk check --config {input.config} --out {output} > {log} 2>&1"
