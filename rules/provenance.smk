# Which tools and PDK files this run uses.


rule doctor:
    output:
        "results/provenance/tools.json",
    log:
        "logs/doctor.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} doctor --out {output} > {log} 2>&1 || (echo failed, last lines of {log}: >&2; tail -n 25 {log} >&2; exit 1)"


rule pdk_check:
    input:
        config=RESOLVED,
        pdk_config=f"pdk_configs/{CFG['pdk']}.yaml",
    output:
        "results/provenance/pdk.json",
    log:
        "logs/pdk_check.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} pdk check --config {input.config} --out {output} > {log} 2>&1 || (echo failed, last lines of {log}: >&2; tail -n 25 {log} >&2; exit 1)"
