#!/usr/bin/env python3
"""bench/report.py RESULTS_DIR: the table of medians that bench/run prints.

Reads the p11bench outputs CONFIG.ROUND.txt ("name value [unit]" lines),
tool.txt ("IMPL CMD ms tpm-commands"), big.txt, tpm.txt and meta.txt, all
written by bench/run, and prints Markdown: medians over the rounds, the
ratios tpm11/raw and tpm11/tpm2-pkcs11, and each target of issue 3 with
PASS or MISS. docs/performance.md explains every number.
"""
import glob
import os
import re
import statistics
import sys

ALGS = ["ecdsa-p256", "ecdsa-p384", "rsa2048-pkcs", "rsa2048-pss"]
ALG_TITLE = {
    "ecdsa-p256": "ECDSA P-256",
    "ecdsa-p384": "ECDSA P-384",
    "rsa2048-pkcs": "RSA-2048 PKCS#1 v1.5",
    "rsa2048-pss": "RSA-2048 PSS (SHA-256, salt 32)",
}


def load(res):
    """{config: {name: [values per round]}}"""
    data = {}
    for path in sorted(glob.glob(os.path.join(res, "*.txt"))):
        base = os.path.basename(path)
        m = re.match(r"(.+@[a-z]+)\.(\d+)\.txt$", base)
        if not m:
            continue
        cfg = m.group(1)
        d = data.setdefault(cfg, {})
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split()
                if len(parts) < 2:
                    continue
                d.setdefault(parts[0], []).append(parts[1])
    return data


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


class Results:
    def __init__(self, res):
        self.data = load(res)

    def has(self, cfg):
        return cfg in self.data

    def raw(self, cfg, name):
        return self.data.get(cfg, {}).get(name, [])

    def med(self, cfg, name):
        """Median of the numeric values; None if there are none."""
        vals = [num(v) for v in self.raw(cfg, name)]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def word(self, cfg, name):
        """A non-numeric value (unsupported, error, a cc list): the first."""
        vals = self.raw(cfg, name)
        return vals[0] if vals else None

    def cell(self, cfg, name, fmt="{:.1f}"):
        if not self.has(cfg):
            return "-"
        m = self.med(cfg, name)
        if m is not None:
            return fmt.format(m)
        w = self.word(cfg, name)
        return w if w is not None else "-"


def ratio(a, b, fmt="{:.2f}"):
    if a is None or b is None or b == 0:
        return "-"
    return fmt.format(a / b)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def read_lines(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n") for l in f]
    except OSError:
        return []


def main():
    res = sys.argv[1]
    R = Results(res)
    meta = {}
    notes = []
    for l in read_lines(os.path.join(res, "meta.txt")):
        k, _, v = l.partition(" ")
        if k == "note":
            notes.append(v)
        else:
            meta[k] = v
    device = bool(meta.get("device"))
    # the "same TCTI" pair for tpm11 vs raw: direct on swtpm, else the RM
    t11 = "tpm11@direct" if R.has("tpm11@direct") else "tpm11@rm"
    raw = "raw@direct" if R.has("raw@direct") else "raw@rm"
    p2 = "tpm2-pkcs11@rm"
    out = []
    P = out.append

    P("# tpm11 benchmark results\n")
    P(f"- date: {meta.get('date', '?')}; host: {meta.get('host', '?')}")
    P(f"- TPM: {meta.get('tpm', '?')}")
    P(f"- rounds: {meta.get('rounds', '?')} (alternating), {meta.get('seconds', '?')} s per rate; "
      f"admin tools: {meta.get('tool_rounds', '?')} rounds; values are medians over rounds")
    P(f"- tpm11: {meta.get('tpm11') or 'not measured'}")
    P(f"- tpm2-pkcs11: {meta.get('tpm2-pkcs11') or 'not measured'}; tpm2-tss {meta.get('tss', '?')}")
    if device:
        P("- direct = RM = the kernel resource manager (/dev/tpmrm0)")
    else:
        P("- direct = swtpm: TCTI (no resource manager); RM = tpm2-abrmd on a private D-Bus")
    for n in notes:
        P(f"- note: {n}")
    P("")

    # --- signing rates
    P("## C_Sign rate, one thread (signatures/s)\n")
    rows = []
    for a in ALGS:
        rd = R.med("raw@direct", f"raw.{a}.rate")
        td = R.med("tpm11@direct", f"sign.{a}.rate")
        rr = R.med("raw@rm", f"raw.{a}.rate")
        tr = R.med("tpm11@rm", f"sign.{a}.rate")
        pr = R.med(p2, f"sign.{a}.rate")
        rows.append([ALG_TITLE[a],
                     R.cell("raw@direct", f"raw.{a}.rate"),
                     R.cell("tpm11@direct", f"sign.{a}.rate"),
                     ratio(td, rd),
                     R.cell("raw@rm", f"raw.{a}.rate"),
                     R.cell("tpm11@rm", f"sign.{a}.rate"),
                     R.cell(p2, f"sign.{a}.rate"),
                     ratio(tr, rr), ratio(tr, pr)])
    if R.has("raw@rm") and R.med("raw@rm", "rawhmac.ecdsa-p256.rate") is not None:
        rows.append(["ECDSA P-256, raw with an HMAC session", "-", "-", "-",
                     R.cell("raw@rm", "rawhmac.ecdsa-p256.rate"), "-", "-", "-", "-"])
    P(table(["algorithm", "raw direct", "tpm11 direct", "tpm11/raw",
             "raw RM", "tpm11 RM", "tpm2-pkcs11 RM", "tpm11/raw RM",
             "tpm11/tpm2-pkcs11"], rows))
    P("")

    # --- per signature: CPU, latency, TPM commands
    P("## Per signature: client CPU (µs), median latency (µs), TPM commands\n")
    rows = []
    for a in ALGS:
        def cpu(cfg, pre):
            return R.cell(cfg, f"{pre}.{a}.cpu_us")
        rows.append([ALG_TITLE[a],
                     cpu("raw@direct" if R.has("raw@direct") else "raw@rm", "raw"),
                     cpu(t11, "sign"), R.cell(t11, f"sign.{a}.p50_us"),
                     R.cell(t11, f"sign.{a}.cmds", "{:.2f}"),
                     cpu(p2, "sign"), R.cell(p2, f"sign.{a}.p50_us"),
                     R.cell(p2, f"sign.{a}.cmds", "{:.2f}"),
                     f"{R.word(t11, f'sign.{a}.verify') or '-'} / {R.word(p2, f'sign.{a}.verify') or '-'}"])
    P(table(["algorithm", "raw CPU", f"tpm11 CPU", "tpm11 p50", "tpm11 cmds",
             "tpm2-pkcs11 CPU", "tpm2-pkcs11 p50", "tpm2-pkcs11 cmds",
             "signature verifies (tpm11 / tpm2-pkcs11)"], rows))
    P(f"\ntpm11 columns: {t11}; tpm2-pkcs11: {p2}.\n")

    # --- cold start
    P("## Cold start, per step: ms (TPM commands)\n")
    steps = [("dlopen", "dlopen + C_GetFunctionList"), ("init", "C_Initialize"),
             ("slots", "C_GetSlotList"), ("tokeninfo", "C_GetTokenInfo"),
             ("open", "C_OpenSession"), ("login", "C_Login"),
             ("find", "C_FindObjects (the key)"), ("sign", "first C_Sign")]
    cold_cfgs = [c for c in ("tpm11@direct", "tpm11@rm", p2) if R.has(c)]

    def cold(cfg, s):
        ms = R.med(cfg, f"cold.{s}_ms")
        n = R.med(cfg, f"cold.{s}.cmds")
        if ms is None:
            return "-"
        return f"{ms:.2f} ({n:.0f})" if n is not None else f"{ms:.2f}"
    rows = [[title] + [cold(c, s) for c in cold_cfgs] for s, title in steps]
    rows.append(["**total**"] + [R.cell(c, "cold.total_ms", "{:.2f}") for c in cold_cfgs])
    rows.append(["C_Logout + C_CloseSession + C_Finalize"] +
                [f"{R.cell(c, 'finalize_ms', '{:.2f}')} ({R.cell(c, 'finalize.cmds', '{:.0f}')})"
                 for c in cold_cfgs])
    P(table(["step"] + cold_cfgs, rows))
    P("")

    # --- TPM commands per operation, with command names
    P("## TPM commands per operation (which commands, first round)\n")
    rows = []
    ops = [("C_Initialize", "cold.init"), ("C_Login", "cold.login"),
           ("first C_Sign (P-256, loads the key)", "cold.sign"),
           ("steady C_Sign P-256", "sign.ecdsa-p256"),
           ("steady C_Sign RSA PKCS#1", "sign.rsa2048-pkcs"),
           ("C_Finalize", "finalize")]
    for title, key in ops:
        row = [title]
        for c in (t11, p2):
            n = R.med(c, f"{key}.cmds")
            cc = R.word(c, f"{key}.cc")
            row.append("-" if n is None else f"{n:g}" + (f" ({cc})" if cc and cc != "-" else ""))
        rows.append(row)
    P(table(["operation", t11, p2], rows))
    P("")

    # --- threads
    P("## Threads, one session each (ECDSA P-256, aggregate signatures/s; errors)\n")
    tcounts = set()
    for c in ("tpm11@direct", "tpm11@rm", p2):
        for k in R.data.get(c, {}):
            m = re.match(r"threads\.(\d+)\.rate$", k)
            if m:
                tcounts.add(int(m.group(1)))
    tcfgs = [c for c in ("tpm11@direct", "tpm11@rm", p2) if R.has(c)]
    rows = []
    for n in sorted(tcounts):
        row = [str(n)]
        for c in tcfgs:
            rate = R.med(c, f"threads.{n}.rate")
            e = R.med(c, f"threads.{n}.errors")
            base = R.med(c, "threads.1.rate")
            if rate is None:
                row.append(R.word(c, f"threads.{n}.rate") or "-")
            else:
                row.append(f"{rate:.0f} ({ratio(rate, base, '{:.0%}')}; {e:.0f} err)")
        rows.append(row)
    P(table(["threads"] + tcfgs, rows))
    P("\n(percentage: of the same module's 1-thread rate)\n")

    # --- memory and search
    P("## Memory and object search\n")
    big = {}
    for l in read_lines(os.path.join(res, "big.txt")):
        parts = l.split()
        if parts:
            big[parts[0]] = " ".join(parts[1:])
    cols = [(lbl, m, bg, k) for lbl, m, bg, k in
            (("tpm11", t11, "tpm11-big@rm", "tpm11"),
             ("tpm2-pkcs11", p2, "tpm2-pkcs11-big@rm", "tpm2-pkcs11"))
            if R.has(m) or R.has(bg)]

    def kb(c, n):
        v = R.med(c, n)
        return "-" if v is None else f"{v / 1024:.1f} MiB"

    def find(c):
        if not R.has(c):
            return "-"
        return f"{R.cell(c, 'find.all_ms', '{:.3f}')} ({R.cell(c, 'find.objects', '{:.0f}')} objects)"
    rows = []
    rows.append(["RSS before dlopen (p11bench itself)"] + [kb(m, "rss.base_kb") for _, m, _, _ in cols])
    rows.append(["added by dlopen + C_Initialize"] + [kb(m, "rss.init_added_kb") for _, m, _, _ in cols])
    rows.append(["added after C_Login"] + [kb(m, "rss.login_added_kb") for _, m, _, _ in cols])
    rows.append(["added after steady signing, all algorithms"] +
                [kb(m, "rss.steady_added_kb") for _, m, _, _ in cols])
    rows.append(["added at the end (after the thread test)"] + [kb(m, "rss.end_added_kb") for _, m, _, _ in cols])
    rows.append(["peak RSS (maxrss)"] + [kb(m, "rss.peak_kb") for _, m, _, _ in cols])
    rows.append(["main token: C_FindObjects, all objects (ms)"] + [find(m) for _, m, _, _ in cols])
    rows.append(["big token: contents"] + [big.get(k, "-") for _, _, _, k in cols])
    rows.append(["big token: RSS added after login + find"] + [kb(bg, "rss.end_added_kb") for _, _, bg, _ in cols])
    rows.append(["big token: C_FindObjects, all objects (ms)"] + [find(bg) for _, _, bg, _ in cols])
    mcfgs = [lbl for lbl, _, _, _ in cols]
    P(table([""] + mcfgs, rows))
    P("")

    # --- admin tools
    tool = {}
    for l in read_lines(os.path.join(res, "tool.txt")):
        parts = l.split()
        if len(parts) >= 3:
            tool.setdefault((parts[0], parts[1]), []).append((parts[2], parts[3] if len(parts) > 3 else "-"))

    def tmed(impl, cmd, idx=0):
        vals = [num(v[idx]) for v in tool.get((impl, cmd), [])]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None
    if tool:
        P("## Admin tool, wall time (ms; TPM commands)\n")
        rows = []
        for cmd in ["init", "addtoken", "addkey-ecc256", "addkey-ecc384", "addkey-rsa2048", "listobjects"]:
            a = tmed("tpm11", cmd)
            b = tmed("tpm2_ptool", cmd)

            def c(impl, v):
                if v is None:
                    errs = tool.get((impl, cmd))
                    return "error" if errs else "-"
                n = tmed(impl, cmd, 1)
                return f"{v:.0f}" + (f" ({n:g})" if n is not None else "")
            rows.append([cmd, c("tpm11", a), c("tpm2_ptool", b), ratio(b, a, "{:.1f}x")])
        d = tmed("tpm11-direct", "addkey-ecc256")
        if d is not None:
            rows.append(["addkey-ecc256, tpm11 without RM", f"{d:.0f}", "-", "-"])
        P(table(["command", "tpm11", "tpm2_ptool", "tpm2_ptool/tpm11"], rows))
        P("\n(init: one run; the others: median of the rounds; both tools through the same RM)\n")

    # --- targets
    P("## Targets (issue 3)\n")
    rows = []

    def target(name, value, ok, why=""):
        if ok is None:
            res_ = "n/a" + (f": {why}" if why else "")
        else:
            res_ = "PASS" if ok else "MISS"
        rows.append([name, value, res_])

    def cmp(v, op, lim):
        if v is None:
            return None
        return v >= lim if op == ">=" else v < lim if op == "<" else v <= lim

    for cfg_t, cfg_r, where in (("tpm11@direct", "raw@direct", "direct"), ("tpm11@rm", "raw@rm", "RM")):
        if not R.has(cfg_r):
            continue
        t, r = R.med(cfg_t, "sign.ecdsa-p256.rate"), R.med(cfg_r, "raw.ecdsa-p256.rate")
        v = t / r if t is not None and r else None
        target(f"P-256 C_Sign >= 90% of raw TPM2_Sign ({where})",
               "-" if v is None else f"{t:.0f}/{r:.0f} = {v:.0%}", cmp(v, ">=", 0.9))
    t, p = R.med("tpm11@rm", "sign.ecdsa-p256.rate"), R.med(p2, "sign.ecdsa-p256.rate")
    v = t / p if t is not None and p else None
    target("P-256 C_Sign >= 8x tpm2-pkcs11 (same RM)",
           "-" if v is None else f"{t:.0f}/{p:.0f} = {v:.1f}x", cmp(v, ">=", 8))
    n = R.med(t11, "sign.ecdsa-p256.cmds")
    target("steady C_Sign = 1 TPM command", "-" if n is None else f"{n:.2f}", cmp(n, "<=", 1.0))
    c = R.med(t11, "sign.ecdsa-p256.cpu_us")
    target("C_Sign client CPU < 0.2 ms", "-" if c is None else f"{c:.0f} µs", cmp(c, "<", 200))
    n = R.med(t11, "cold.init.cmds")
    target("C_Initialize: 0 TPM commands", "-" if n is None else f"{n:.0f}",
           None if n is None else n == 0)
    ms = R.med(t11, "cold.init_ms")
    target("C_Initialize < 1 ms", "-" if ms is None else f"{ms:.2f} ms", cmp(ms, "<", 1))
    ms = R.med(t11, "cold.total_ms")
    target("cold start to first signature < 15 ms" + ("" if device else " (swtpm)"),
           "-" if ms is None else f"{ms:.1f} ms", cmp(ms, "<", 15))
    a, b = tmed("tpm11", "addkey-ecc256"), tmed("tpm2_ptool", "addkey-ecc256")
    target("tpm11 addkey ecc256 < 50 ms", "-" if a is None else f"{a:.0f} ms", cmp(a, "<", 50))
    v = b / a if a and b else None
    target("tpm11 addkey >= 10x faster than tpm2_ptool addkey",
           "-" if v is None else f"{b:.0f}/{a:.0f} = {v:.1f}x", cmp(v, ">=", 10))
    r16, r1 = R.med(t11, "threads.16.rate"), R.med(t11, "threads.1.rate")
    e16 = R.med(t11, "threads.16.errors")
    v = r16 / r1 if r16 is not None and r1 else None
    target("16 threads >= 90% of 1 thread, no errors",
           "-" if v is None else f"{r16:.0f}/{r1:.0f} = {v:.0%}, {e16:.0f} errors",
           None if v is None else (v >= 0.9 and e16 == 0))
    kbv = R.med("tpm11-big@rm", "rss.end_added_kb")
    target("added RSS < 4 MB (1 token, 100 keys)",
           "-" if kbv is None else f"{kbv / 1024:.1f} MiB ({big.get('tpm11', '?')})",
           cmp(kbv, "<", 4096))
    f = R.med("tpm11-big@rm", "find.all_ms")
    objs = R.med("tpm11-big@rm", "find.objects")
    ok = cmp(f, "<", 5)
    why = ""
    if ok is not None and objs is not None and objs < 1000:
        why = f"only {objs:.0f} objects"
        ok = None
    target("C_FindObjects over 1,000 objects < 5 ms",
           "-" if f is None else f"{f:.2f} ms over {objs:.0f} objects", ok, why)
    tpm = read_lines(os.path.join(res, "tpm.txt"))
    if tpm:
        target("no transient objects or sessions left in the TPM", tpm[0].replace("clean ", ""),
               tpm[0].startswith("clean yes"))
    P(table(["target", "measured (tpm11)", "result"], rows))
    if not R.has("tpm11@direct") and not R.has("tpm11@rm"):
        P("\ntpm11 was not measured in this run: every tpm11 target is n/a.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
