"""The report: BENCHMARKS.json and BENCHMARKS.md from the measurements, where they go, and
the progress lines."""

import json
import sys
import tempfile
from pathlib import Path

from benchmark import ROOT
from benchmark.intervals import pair_verdict
from benchmark.models import MODELS, model_sizes


def report_folder(out, quick):
    """Where the report goes: `out` if given; else the project's committed report, except
    for --quick, whose tiny numbers go to a new temporary folder."""
    if out is not None:
        return out
    return Path(tempfile.mkdtemp(prefix="zoo-bench-quick-")) if quick else ROOT


def write_report(report, folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "BENCHMARKS.json").write_text(json.dumps(report, indent=1) + "\n")
    (folder / "BENCHMARKS.md").write_text(markdown(report))
    print(f"wrote {folder / 'BENCHMARKS.md'} and BENCHMARKS.json")


def rewrite(json_path):
    """BENCHMARKS.md again from a run's BENCHMARKS.json (the rows' verdicts recomputed from
    their rounds, so a report from before they existed gets them too)."""
    try:
        report = json.loads(json_path.read_text())
        rows = report["rows"]
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"tools/bench.py --rewrite: {json_path}: not a BENCHMARKS.json ({error})")
    for row in rows:
        if "ratios" in row:
            row |= pair_verdict(row["ratios"])
    write_report(report, json_path.parent)


def progress_line(result):
    if "error" in result:
        return f"error: {result['error'].strip().splitlines()[-1:]}"
    if result["variant"] == "pair":
        return (
            f"train zoo {result['zoo_train_per_s']:.1f}/s, reference "
            f"{result['reference_train_per_s']:.1f}/s: zoo/reference "
            f"{result['zoo_over_reference']:.3f} (rounds {min(result['ratios']):.3f}-"
            f"{max(result['ratios']):.3f})"
        )
    return (
        f"first step {result['first_step_s']:6.1f} s  predict "
        f"{result['inference_per_s']:8.1f}/s  {result['peak_memory_mib']} MiB"
    )


def summarize(model_name, backend, results, limit_gflops):
    """The three subprocesses' results for one model on one backend -> one report row."""
    row = {"model": model_name, "backend": backend, "unit": MODELS[model_name]["unit"]}
    for variant, result in results.items():
        if "error" in result:
            row[f"{variant}_error"] = result["error"]
        elif variant == "pair":
            for key in ("zoo_train_per_s", "reference_train_per_s", "zoo_over_reference", "ratios"):
                row[key] = result[key]
            if "augmented_per_s" in result:  # the CNNs only
                row["augmented_per_s"] = result["augmented_per_s"]
            row |= pair_verdict(result["ratios"])
        else:
            for key in ("first_step_s", "inference_per_s", "peak_memory_mib"):
                row[f"{variant}_{key}"] = result[key]
    reference = results["reference"]
    if "training_flops_per_sample" in reference:
        flops = row["training_gflops_per_sample"] = round(
            reference["training_flops_per_sample"] / 1e9, 3
        )
        for variant in ("zoo", "reference"):
            if f"{variant}_train_per_s" in row:
                row[f"{variant}_share_of_limit"] = round(
                    row[f"{variant}_train_per_s"] * flops / limit_gflops, 3
                )
    return row


ALLOCATORS = {
    "system": "the C library's malloc settings, as a plain script gets them",
    "keep": "zoo.keep_freed_memory() in every measuring process, as zoo's recipes run",
}


def blas_words(blas):
    """How the limit's BLAS ran, for the report ("" for a run from before it was recorded)."""
    if not blas:
        return ""
    kernel = f"OpenBLAS kernel {blas['kernel']}" if blas["kernel"] else "OpenBLAS"
    overrides = ", ".join(f"{key}={value}" for key, value in blas["overrides"].items())
    if blas["forced"]:
        return (
            f", {kernel} as this environment forces it ({overrides}): the kernel picked "
            f"for this CPU computed a wrong product"
            if overrides
            else f", {kernel}"
        )
    return f", {kernel}" + (
        f", the one picked for this CPU, without this environment's {overrides}"
        if overrides
        else ""
    )


def markdown(report):
    machine_, settings, rows = report["machine"], report["settings"], report["rows"]
    samples = report.get("matmul_samples", [report["matmul_gflops"]])
    versions = ", ".join(f"{name} {version}" for name, version in machine_["versions"].items())
    run_notes = (
        " Quick mode: tiny sizes, for checking the tool, not for comparison."
        if settings["quick"]
        else ""
    )
    if settings.get("batch_size"):
        run_notes += (
            f" Every model at batch size {settings['batch_size']} (--batch-size), not its recipe's."
        )
    lines = [
        "# Benchmarks",
        "",
        f"Measured {report['date']} by `{report['command'].strip()}` on {machine_['cpu']}, "
        f"{machine_['cores']} cores, Python {machine_['python']}; {versions}. Written by "
        f"tools/bench.py (do not edit by hand); how it measures: its docstring. Training: "
        f"zoo and reference in one process, {settings['repeats']} rounds of one window of "
        f"{settings['steps']} steps each, taking turns which goes first, after "
        f"{settings['warmup']} warm-up steps; throughput is the median window, zoo / "
        f"reference the median of the rounds' ratios, with a 95% confidence interval for that "
        f"median (from the rounds' order statistics; none for fewer than 6 rounds). "
        f"Allocator: {ALLOCATORS[settings.get('allocator', 'system')]}.{run_notes}",
        "",
        f"Machine limit: **{report['matmul_gflops']} GFLOP/s** (float32 matmul, NumPy, all "
        f"cores{blas_words(report.get('matmul_blas'))}"
        + (
            f"; the best of {len(samples)} measurements between the subprocesses, "
            f"which ranged {min(samples)}-{max(samples)}, so the shares below are "
            f"against the fastest the machine was seen to be"
            if len(samples) > 1
            else ""
        )
        + ").",
        "",
        "## Training and inference, zoo against plain Keras",
        "",
        "| model | backend | unit | zoo train /s | reference train /s | zoo / reference "
        "| 95% interval | rounds zoo faster | zoo first step s | reference first step s "
        "| zoo predict /s | reference predict /s | zoo peak MiB | reference peak MiB "
        "| share of limit (zoo / reference) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    for row in rows:

        def cell(key, row=row):
            return "error" if row.get(key) is None else f"{row[key]:g}"

        share = (
            f"{row['zoo_share_of_limit']:.0%} / {row['reference_share_of_limit']:.0%}"
            if "zoo_share_of_limit" in row and "reference_share_of_limit" in row
            else ""
        )
        interval = row.get("ratio_interval_95")
        rounds = (
            (
                "" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}",
                f"{row['rounds_zoo_faster']} of {len(row['ratios'])}",
            )
            if "ratios" in row
            else ("error", "error")
        )
        lines.append(
            " | ".join(
                [
                    f"| {row['model']}",
                    row["backend"],
                    row["unit"],
                    cell("zoo_train_per_s"),
                    cell("reference_train_per_s"),
                    cell("zoo_over_reference"),
                    *rounds,
                    *(
                        cell(f"{variant}_{key}")
                        for key in ("first_step_s", "inference_per_s", "peak_memory_mib")
                        for variant in ("zoo", "reference")
                    ),
                    f"{share} |",
                ]
            )
        )
    verdicts = {
        verdict: [
            f"{row['model']} on {row['backend']}" for row in rows if row.get("verdict") == verdict
        ]
        for verdict in ("slower", "faster")
    }
    below = [
        f"{row['model']} on {row['backend']} ({row['zoo_over_reference']:.3f})"
        for row in rows
        if row.get("zoo_over_reference", 1) < 1
    ]
    lines += [
        "",
        "zoo measurably slower than its reference (the interval wholly below 1.0): "
        + (", ".join(verdicts["slower"]) or "none")
        + ". Measurably faster: "
        + (", ".join(verdicts["faster"]) or "none")
        + ". Median ratio below 1.0: "
        + (", ".join(below) or "none")
        + ".",
    ]
    errors = [(row, key) for row in rows for key in row if key.endswith("_error")]
    if errors:
        lines += ["", "Errors (last line of each):", ""]
        lines += [
            f"- {row['model']} {row['backend']} {key.removesuffix('_error')}: "
            f"`{(row[key].strip().splitlines() or ['?'])[-1]}`"
            for row, key in errors
        ]
    sizes = {
        name: model_sizes(name, settings) for name in dict.fromkeys(row["model"] for row in rows)
    }
    lines += [
        "",
        "Sizes: "
        + "; ".join(
            f"{name} " + ", ".join(f"{key} {value}" for key, value in sizes[name].items())
            for name in sizes
        )
        + ".",
    ]
    flops = {
        row["model"]: row["training_gflops_per_sample"]
        for row in rows
        if "training_gflops_per_sample" in row
    }
    if flops:
        lines.append(
            "Training FLOPs per sample, counted from the layers (3 x the forward "
            "pass's 2 FLOPs per multiply-add in Conv2D and Dense; the recipe's DCGAN, "
            "dcgan-augment-ema: 4 x its generator's forward pass and 9 x its discriminator's, "
            "see `gan_training_flops`): "
            + ", ".join(f"{name} {value} GFLOP" for name, value in flops.items())
            + "."
        )
    lines += ["", "## Input pipelines alone (real images)", ""]
    if report["pipelines"]:
        lines += [
            "| pipeline | images | first load (decode, or cache read) s | images/s |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {name} | {p['images']} | {p['load_s']} | {p['images_per_s']} |"
            for name, p in report["pipelines"].items()
        ]
        augmented = [row for row in rows if row.get("augmented_per_s")]
        if augmented:
            lines += [
                "",
                "The CNN recipes' augmentation (`zoo.augmentation()`: rotation, "
                "shifts, flip, zoom, one resampling), on synthetic images of the model's "
                "size inside `fit`, and the pipeline's two stages one after the other "
                "(1 / (1 / decoded + 1 / augmented)):",
                "",
                "| model | backend | augmented images/s | decoded, then augmented, "
                "images/s | over the zoo model's training |",
                "| --- | --- | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {row['model']} | {row['backend']} | {row['augmented_per_s']:g} | "
                f"{row.get('pipeline_per_s', '')} | "
                f"{row.get('pipeline_over_training', '')}x |"
                for row in augmented
            ]
        lines += [
            "",
            "Pipeline over the zoo model's training throughput: "
            + ", ".join(
                f"{row['model']} on {row['backend']} {row['pipeline_over_training']}x"
                for row in rows
                if "pipeline_over_training" in row
            )
            + ".",
        ]
    else:
        lines.append("Not measured: the images were not found (--data).")
    lines += [
        "",
        "## Re-run",
        "",
        "    python tools/bench.py          # every model, every backend, 24 rounds:"
        " 60-100 min on 2 idle cores (--repeats 12: 32-50)",
        "    python tools/bench.py --quick  # the tool's own check, a few minutes",
        "",
    ]
    return "\n".join(lines)
