"""Turns the raw outputs of benchmarks/run.sh into benchmarks/results/<stamp>.json, a Markdown
table on stdout, and BENCHMARKS.md at the top of the repo. Called by run.sh; not meant to be run
alone. Any text below the line `## Notes (kept across runs)` in an existing BENCHMARKS.md is kept.
"""
import argparse
import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
KEEP = "## Notes (kept across runs)"
TRAIN_TARGET = 4.0  # advx epoch should be at least this many times faster than torch's


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=REPO).stdout.strip()
    except OSError:
        return ""


def machine():
    lscpu = sh("lscpu")
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.M)
    cpus = re.search(r"^CPU\(s\):\s*(\d+)$", lscpu, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", open("/proc/meminfo").read(), re.M)
    return {
        "cpu_model": model.group(1).strip() if model else "unknown",
        "cpus": int(cpus.group(1)) if cpus else os.cpu_count(),
        "mem_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
    }


def parse_advx_train(text, wall):
    """The epoch line of `advx train --quiet`: '... 1234 img/s  12.3 s  test acc ...'."""
    m = re.search(r"([\d.]+) img/s\s+([\d.]+) s", text)
    acc = re.search(r"test accuracy on all \d+ \S+ test images: ([\d.]+)", text)
    if not m:
        raise SystemExit("could not parse the advx train output:\n" + text)
    return {"train_small_img_s": float(m.group(1)), "train_small_epoch_s": float(m.group(2)),
            "train_small_test_acc": float(acc.group(1)) if acc else None,
            "command_wall_s": wall["end"] - wall["start"]}


def fmt(v, digits=0):
    return "-" if v is None else ("{:,.%df}" % digits).format(v)


# Sections written by other benchmark scripts, kept in BENCHMARKS.md between markers: each script
# writes benchmarks/results/<name>.md and splices it (report.py --splice-<name>), and a full run of
# benchmarks/run.sh copies every one of them back, so no run drops another's part.
SECTIONS = {
    "web": ("the browser benchmark", "benchmarks/web/run.sh"),
    "pixel": ("the one-pixel attack against SciPy + PyTorch", "benchmarks/pixel/run.sh"),
    "seq": ("an LSTM training epoch against PyTorch", "benchmarks/seq/run.sh"),
}


def markers(name):
    return ("<!-- %s section: benchmarks/results/%s.md, written by %s -->" % (name, name, SECTIONS[name][1]),
            "<!-- end of %s section -->" % name)


def section(name):
    """benchmarks/results/<name>.md between its markers."""
    begin, end = markers(name)
    path = os.path.join(REPO, "benchmarks", "results", name + ".md")
    body = open(path).read().strip("\n") if os.path.exists(path) else "(not measured yet: bash %s)" % SECTIONS[name][1]
    return [begin, "", body, "", end, ""]


def splice(name):
    """Replaces section `name` of an existing BENCHMARKS.md with benchmarks/results/<name>.md (or adds it
    before the kept notes)."""
    md_path = os.path.join(REPO, "BENCHMARKS.md")
    old = open(md_path).read() if os.path.exists(md_path) else "# Benchmarks\n\n"
    begin, end = markers(name)
    text = "\n".join(section(name))
    if begin in old and end in old:
        new = old[:old.index(begin)] + text + old[old.index(end) + len(end) + 1:]
    elif KEEP in old:
        new = old[:old.index(KEEP)] + text + "\n" + old[old.index(KEEP):]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(md_path, "w") as f:
        f.write(new)
    print("wrote the %s section of BENCHMARKS.md" % name)


def main():
    if len(sys.argv) == 2 and sys.argv[1].startswith("--splice-") and sys.argv[1][9:] in SECTIONS:
        splice(sys.argv[1][9:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--advx", required=True)
    ap.add_argument("--load-before", type=float, required=True)
    ap.add_argument("--load-after", type=float, required=True)
    a = ap.parse_args()

    def load(name):
        p = os.path.join(a.tmp, name)
        return json.load(open(p)) if os.path.exists(p) else None

    eng = load("advx_bench.json")
    train = parse_advx_train(open(os.path.join(a.tmp, "advx_train.txt")).read(), load("advx_train_wall.json"))
    torch_ref = load("torch.json")
    torch_ob = load("torch_openblas.json")
    mach = machine()
    commit = sh("git rev-parse --short HEAD") + (" (with uncommitted changes)" if sh("git status --porcelain") else "")
    result = {"stamp": a.stamp, "machine": mach, "commit": commit, "load_avg_1min_before": a.load_before,
              "load_avg_1min_after": a.load_after, "advx_bench": eng, "advx_train": train,
              "torch": torch_ref, "torch_openblas": torch_ob}
    os.makedirs(os.path.join(REPO, "benchmarks", "results"), exist_ok=True)
    out_json = os.path.join("benchmarks", "results", a.stamp + ".json")
    with open(os.path.join(REPO, out_json), "w") as f:
        json.dump(result, f, indent=1)

    gemm = eng["gemm_gflops"]
    # Inference table: one row per (model, batch, pass).
    ob = torch_ob is not None
    head = ["model", "batch", "pass", "advx img/s", "advx GFLOP/s", "% of GEMM", "torch img/s", "advx / torch"]
    if ob:
        head += ["torch+OpenBLAS img/s", "advx / torch+OpenBLAS"]
    rows = [head, ["---"] * len(head)]
    frac = []  # GEMM fractions at batch >= 64
    speed = []  # (row label, advx/torch, advx/torch+openblas)
    for arch in ("cnn", "small"):
        for b in (1, 64, 256):
            for kind, label in (("fwd", "forward"), ("fwdgrad", "forward + input grad")):
                k = "%s_b%d_%s" % (arch, b, kind)
                e, g = eng[k + "_img_s"], eng[k + "_gflops"]
                t = torch_ref[k + "_img_s"] if torch_ref else None
                pct = 100.0 * g / gemm
                if b >= 64:
                    frac.append(pct)
                row = [arch, str(b), label, fmt(e), fmt(g, 1), fmt(pct, 0) + "%",
                       fmt(t), fmt(e / t, 2) + "x" if t else "-"]
                t2 = torch_ob[k + "_img_s"] if ob else None
                if ob:
                    row += [fmt(t2), fmt(e / t2, 2) + "x"]
                speed.append(("%s b%d %s" % (arch, b, kind), e / t if t else None, e / t2 if t2 else None))
                rows.append(row)
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows)

    th = ["", "epoch s", "img/s", "test acc after 1 epoch", "torch epoch / advx epoch"]
    trows = [th, ["---"] * len(th),
             ["advx", fmt(train["train_small_epoch_s"], 1), fmt(train["train_small_img_s"]),
              fmt(train["train_small_test_acc"], 4), "-"]]
    ratios = {}
    for name, t in (("torch", torch_ref), ("torch+OpenBLAS", torch_ob)):
        if t and "train_small_epoch_s" in t:
            r = t["train_small_epoch_s"] / train["train_small_epoch_s"]
            ratios[name] = r
            trows.append([name, fmt(t["train_small_epoch_s"], 1), fmt(t["train_small_img_s"]),
                          fmt(t["train_small_test_acc"], 4), fmt(r, 2) + "x"])
    ttable = "\n".join("| " + " | ".join(r) + " |" for r in trows)

    # FGSM-RS adversarial training epoch (when run.sh measured it).
    fgsm_path = os.path.join(a.tmp, "advx_fgsmrs.txt")
    fgsm = parse_advx_train(open(fgsm_path).read(), {"start": 0.0, "end": 0.0}) if os.path.exists(fgsm_path) else None
    frows = None
    fratios = {}
    if fgsm:
        fh = ["", "epoch s", "img/s", "clean test acc after 1 epoch", "torch epoch / advx epoch"]
        frows = [fh, ["---"] * len(fh),
                 ["advx `--shards 2`", fmt(fgsm["train_small_epoch_s"], 1), fmt(fgsm["train_small_img_s"]),
                  fmt(fgsm["train_small_test_acc"], 4), "-"]]
        p1 = os.path.join(a.tmp, "advx_fgsmrs_noshards.txt")
        if os.path.exists(p1):
            f1 = parse_advx_train(open(p1).read(), {"start": 0.0, "end": 0.0})
            result["advx_fgsmrs_noshards"] = f1
            frows.append(["advx without shards", fmt(f1["train_small_epoch_s"], 1), fmt(f1["train_small_img_s"]),
                          fmt(f1["train_small_test_acc"], 4),
                          "- (`--shards 2` is %.2fx as fast)" % (f1["train_small_epoch_s"] / fgsm["train_small_epoch_s"])])
        torch_ob1 = load("torch_openblas_1t.json")
        if torch_ob1:
            result["torch_openblas_1thread_fgsmrs"] = torch_ob1
        for name, t in (("torch", torch_ref), ("torch+OpenBLAS", torch_ob), ("torch+OpenBLAS, 1 thread", torch_ob1)):
            if t and "fgsmrs_small_epoch_s" in t:
                r = t["fgsmrs_small_epoch_s"] / fgsm["train_small_epoch_s"]
                fratios[name] = r
                frows.append([name, fmt(t["fgsmrs_small_epoch_s"], 1), fmt(t["fgsmrs_small_img_s"]),
                              fmt(t["fgsmrs_small_test_acc"], 4), fmt(r, 2) + "x"])
        result["advx_fgsmrs"] = fgsm
        with open(os.path.join(REPO, out_json), "w") as f:
            json.dump(result, f, indent=1)
    ftable = "\n".join("| " + " | ".join(r) + " |" for r in frows) if frows else ""

    print("## Inference (batch 1/64/256), %s, %d threads\n" % (mach["cpu_model"], int(eng["threads"])))
    print(table)
    print("\n## One training epoch of `small` (60k MNIST, Adam lr 1e-3, batch 64)\n")
    print(ttable)
    print("\nwrote " + out_json)

    # --- BENCHMARKS.md ---
    busy = a.load_before > 0.5
    tr = ratios.get("torch")
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bash benchmarks/run.sh` (rerun it to refresh this file; raw numbers in "
        "`%s`)." % out_json,
        "",
        "- Date (UTC): %s" % a.stamp.replace("_", " "),
        "- Machine: %s, %s CPUs (lscpu), %s GiB RAM, %s" % (mach["cpu_model"], mach["cpus"], mach["mem_gib"], mach["os"]),
        "- advx: commit %s, `%s`, %d threads" % (commit, a.advx, int(eng["threads"])),
        "- PyTorch: %s (Debian python3-torch, `/usr/bin/python3`), `torch.set_num_threads(2)`; BLAS it loaded: `%s`"
        % ((torch_ref["torch_version"], torch_ref.get("blas", "unknown")) if torch_ref else ("-", "-")),
        "- 1-minute load average: %.2f at the start, %.2f at the end%s"
        % (a.load_before, a.load_after,
           " -- **another process was using the CPU when the run started; the numbers may be low**" if busy else
           " (the machine was otherwise idle)"),
        "",
        "## Commands",
        "",
        "```",
        "bash benchmarks/run.sh            # runs all of the below and rewrites this file",
        "%s bench --json" % a.advx,
        "%s train --model small --epochs 1 --seed 1 --out /tmp/x.safetensors --quiet" % a.advx,
        "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas /usr/bin/python3 benchmarks/bench_torch.py --threads 2"
        "   # Debian's default (reference) BLAS",
        "LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 benchmarks/bench_torch.py --threads 2"
        "   # only if libopenblas0-openmp is installed",
        "```",
        "",
        "## Inference throughput",
        "",
        "Random inputs, best of 3 repetitions of at least 0.2 s each (both sides measured the same way). "
        "`forward + input grad` is logits plus d/dx of the summed cross-entropy, no weight gradients. "
        "GFLOP/s counts 2 x multiply-adds of the forward pass, and 2 x that for forward + input grad. "
        "GEMM reference: Eigen 1024^3 SGEMM in the same run = **%.1f GFLOP/s**." % gemm,
        "",
        table,
        "",
        "## Training: one epoch of `small`",
        "",
        "60,000 MNIST training images, Adam lr 1e-3, batch 64, shuffled; epoch loop wall time with the data "
        "already in memory (advx: the epoch time it prints; `advx train` took %.1f s in all, with data loading "
        "and the final 10k test evaluation)." % train["command_wall_s"],
        "",
        ttable,
        "",
    ]
    if ftable:
        lines += [
            "## Training: one epoch of FGSM-RS adversarial training of `small`",
            "",
            "Wong, Rice, Kolter 2020 (arXiv:2001.03994): per batch of 100, a uniform random start in the 0.3-ball "
            "(clipped to [0, 1]), one signed-gradient step of 0.375, then the training step on those adversarials; "
            "Adam with the cyclic learning rate (peak 5e-3) of a one-epoch run. Both sides ask the attack's backward "
            "for the input gradient only. advx: `%s train --model small --epochs 1 --seed 0 --batch 100 --lr 0.005 "
            "--lr-schedule cyclic --adv pgd --eps 0.3 --steps 1 --step-size 0.375 --eval-n 0 --shards 2` (and "
            "without `--shards`); torch: `bench_train_fgsmrs` in benchmarks/bench_torch.py, 2 threads, and with "
            "OpenBLAS also 1 thread." % a.advx,
            "",
            ftable,
            "",
        ]
    lines += [
        "## Ratios",
        "",
        "- Engine GFLOP/s as a fraction of the Eigen GEMM rate at batch >= 64: %.0f%% to %.0f%% "
        "(per row in the table)." % (min(frac), max(frac)),
    ]

    def span(vals):
        """'min to max (geometric mean g)' of speed ratios, with the rows at the extremes."""
        vals = [(r, n) for n, r in vals if r is not None]
        if not vals:
            return "-"
        gm = 1.0
        for r, _ in vals:
            gm *= r
        gm **= 1.0 / len(vals)
        lo, hi = min(vals), max(vals)
        return "%.2fx (%s) to %.2fx (%s), geometric mean %.2fx" % (lo[0], lo[1], hi[0], hi[1], gm)

    lines.append("- Engine vs torch (Debian default, reference BLAS), images/s, advx / torch: %s; every row is in the table."
                 % span([(n, r) for n, r, _ in speed]))
    if ob:
        lines.append("- Engine vs torch+OpenBLAS, images/s: %s." % span([(n, r2) for n, _, r2 in speed]))
    if tr is not None:
        lines.append("- Training epoch: advx is **%.2fx** as fast as torch with Debian's default reference BLAS (target >= %.0fx: %s)%s."
                     % (tr, TRAIN_TARGET, "met" if tr >= TRAIN_TARGET else "**not met**",
                        ("; %.2fx as fast as torch+OpenBLAS (%s)" % (ratios["torch+OpenBLAS"],
                         "met" if ratios["torch+OpenBLAS"] >= TRAIN_TARGET else "**not met**"))
                        if "torch+OpenBLAS" in ratios else ""))
    if fratios:
        ob_best = min((r for n, r in fratios.items() if "OpenBLAS" in n), default=None)
        lines.append("- FGSM-RS adversarial training epoch (advx `--shards 2`): advx is %s (target: at least as fast "
                     "as the faster torch+OpenBLAS setup: %s)."
                     % ("; ".join("**%.2fx** as fast as %s" % (r, n) for n, r in fratios.items()),
                        ("met" if ob_best >= 1.0 else "**not met**") if ob_best is not None else "not measured"))
    lines += [
        "",
        "## How to read the torch columns",
        "",
        "Debian's PyTorch runs convolutions through oneDNN (MKL-DNN), but its `Linear` layers call the system "
        "BLAS (`libblas.so.3`, `torch.__config__.show()` says BLAS_INFO=generic): on a default Debian install "
        "that is the unoptimised reference BLAS; with `libopenblas0-openmp` installed it is OpenBLAS (the header "
        "above names the library the `torch` run loaded). The `torch` columns pin the reference BLAS "
        "(`LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas`), i.e. PyTorch as a default Debian install runs it; the "
        "`torch+OpenBLAS` columns (when present) load Debian's OpenBLAS (`libopenblas0-openmp`) for that process "
        "only, which is closer to a pip/conda PyTorch with MKL. Compare against the faster of the two to be fair.",
        "",
    ]
    for name in SECTIONS:
        lines += section(name)
    md_path = os.path.join(REPO, "BENCHMARKS.md")
    kept = ""
    if os.path.exists(md_path):
        old = open(md_path).read()
        if KEEP in old:
            kept = old[old.index(KEEP) + len(KEEP):].strip("\n")
    lines += [KEEP, "", kept or "(none yet)", ""]
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
