# RTL: render every design from its templates, then verify it against its golden model.

SHARED_RTL_TEMPLATES = [
    "templates/rtl/_common.v.j2",
    "templates/rtl/memory.v.j2",
    "templates/rtl/sram_model.v.j2",
    "templates/rtl/clock_gate_model.v.j2",
    "templates/tb/testbench.v.j2",
]


# {variant} is empty for the designs as configured; "-ungated" for the clock-gating references
# (clock_gating.reference_designs), built with clock gating off; "-mem_<name>" for the designs of a
# memory_variants entry, built with its word width and SRAM macro.
wildcard_constraints:
    variant="|-ungated|-mem_[a-z0-9_]+",


rule rtl_render:
    input:
        config=variant_config,
        templates=design_templates,
        shared=SHARED_RTL_TEMPLATES,
        code=rule_code("rtl_render"),
    output:
        "results/rtl{variant}/{design}/manifest.json",
    log:
        "logs/rtl/render{variant}-{design}.log",
    benchmark:
        "results/benchmarks/rtl_render{variant}/{design}.tsv"
    params:
        cli=SPIKEMEM,
        out_dir=lambda wc: f"results/rtl{wc.variant}/{wc.design}",
        variant=variant_option,
    conda:
        ENV
    shell:
        "{params.cli} rtl render --config {input.config} --design {wildcards.design} {params.variant} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule rtl_verify:
    input:
        config=variant_config,
        manifest="results/rtl{variant}/{design}/manifest.json",
        workload=TRAINED_WORKLOAD,
        code=rule_code("rtl_verify"),
    output:
        "results/verify{variant}/{design}.json",
    log:
        "logs/rtl/verify{variant}-{design}.log",
    benchmark:
        "results/benchmarks/rtl_verify{variant}/{design}.tsv"
    # One thread: Verilator's build is one C++ unit (spikemem.rtl.simulator). A two-thread job on two
    # cores ran alone and left the other core idle while it waited for both.
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        cli=SPIKEMEM,
        rtl_dir=lambda wc: f"results/rtl{wc.variant}/{wc.design}",
        work_dir=lambda wc: f"results/verify{wc.variant}/work/{wc.design}",
        variant=variant_option,
        workload=workload_option,
    conda:
        ENV
    shell:
        "{params.cli} rtl verify --config {input.config} --design {wildcards.design} {params.variant} "
        "--rtl-dir {params.rtl_dir} --work-dir {params.work_dir} {params.workload} --out {output} > {log} 2>&1"


rule verify_summary:
    input:
        reports=expand("results/verify/{design}.json", design=DESIGNS),
        code=rule_code("verify_summary"),
    output:
        "results/verify/summary.csv",
    log:
        "logs/rtl/verify-summary.log",
    params:
        cli=SPIKEMEM,
    conda:
        ENV
    shell:
        "{params.cli} tabulate-verify --out {output} {input.reports} > {log} 2>&1"
