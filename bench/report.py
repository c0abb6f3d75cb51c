#!/usr/bin/env python3
"""bench/report.py RESULTS_DIR: the table of medians that bench/run prints.

Reads the p11bench outputs CONFIG.ROUND.txt ("name value [unit]" lines),
tool.txt ("IMPL CMD ms tpm-commands"), big.txt, tpm.txt and meta.txt, all
written by bench/run, and prints Markdown: medians over the rounds, the
ratios tpm11/raw and tpm11/tpm2-pkcs11, and each target of issue 3 with
PASS or MISS. From actions.txt and actions/IMPL.ACTION.log (bench/actions.sh)
it prints the TPM commands per user action and the time they would take
under each chip profile of tests/tcti/profiles. docs/performance.md
explains every number.
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
    """{config: {phase: {name: {round: value}}}} from CONFIG.ROUND.PHASE.txt"""
    data = {}
    for path in sorted(glob.glob(os.path.join(res, "*.txt"))):
        m = re.match(r"(.+@[a-z]+)\.(\d+)\.([\w.-]+)\.txt$", os.path.basename(path))
        if not m:
            continue
        cfg, rnd, phase = m.group(1), int(m.group(2)), m.group(3)
        d = data.setdefault(cfg, {}).setdefault(phase, {})
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    d.setdefault(parts[0], {})[rnd] = parts[1]
    return data


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def phases_for(name):
    """Which run a value comes from when several runs report it: the cold
    start and memory of an SSH-like run (P-256), the end of the thread run."""
    if name.startswith("threads.") or name.startswith("rss.end") or name == "rss.peak_kb":
        return ["threads", "big"]
    if name.startswith(("cold.", "rss.", "finalize")):
        return ["sign-ecdsa-p256", "big"]
    return []


class Results:
    def __init__(self, res):
        self.data = load(res)

    def has(self, cfg):
        return cfg in self.data

    def series(self, cfg, name):
        """{round: value} for one metric of one configuration."""
        phases = self.data.get(cfg, {})
        for ph in phases_for(name):
            if name in phases.get(ph, {}):
                return phases[ph][name]
        out = {}
        for ph in sorted(phases):
            for rnd, v in phases[ph].get(name, {}).items():
                out.setdefault(rnd, v)
        return out

    def raw(self, cfg, name):
        s_ = self.series(cfg, name)
        return [s_[k] for k in sorted(s_)]

    def med(self, cfg, name):
        """Median of the numeric values; None if there are none."""
        vals = [num(v) for v in self.raw(cfg, name)]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def pair(self, cfg_a, name_a, cfg_b, name_b, fn=lambda x, y: x / y):
        """Median over rounds of fn(a, b), each round's a and b measured
        close together; None without a common round."""
        a_, b_ = self.series(cfg_a, name_a), self.series(cfg_b, name_b)
        r_ = []
        for k in a_:
            x, y = num(a_.get(k)), num(b_.get(k))
            if x and y:
                r_.append(fn(x, y))
        return statistics.median(r_) if r_ else None

    def names(self, cfg, prefix):
        """Every metric name of cfg that starts with prefix."""
        out = set()
        for ph in self.data.get(cfg, {}).values():
            out.update(n for n in ph if n.startswith(prefix))
        return sorted(out)

    def maps(self, cfg):
        """[(mapping, median KiB added)], largest first (rss.map.*)."""
        out = []
        for n in self.names(cfg, "rss.map."):
            v = self.med(cfg, n)
            if v is not None:
                out.append((n[len("rss.map."):-len("_added_kb")], v))
        return sorted(out, key=lambda x: -x[1])

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


def pct(v):
    return "-" if v is None else f"{v:.2f}"


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


# --- TPM commands per user action, and their time under chip profiles ------

ACTIONS = [
    ("keygen-D", "`ssh-keygen -D` (list the public keys)"),
    ("ssh-cold", "ssh login with `PKCS11Provider`, cold (new ssh: login, 1 signature, exit)"),
    ("agent-add", "`ssh-add -s` (the agent's helper loads the module and logs in)"),
    ("agent-sign", "ssh login through the agent (1 signature)"),
    ("agent-sign-2", "the same again (the key is loaded by then)"),
    ("agent-stop", "ssh-agent stopped (its helper ends)"),
    ("tls", "TLS 1.3 client handshake, token key (gnutls-cli; login, 1 signature, exit)"),
    ("sign", "`pkcs11-tool --login --sign` (new process: login, 1 ECDSA signature, exit)"),
    ("sign-pcr", "the same with a key bound to PCR 7 (`addkey --pcrs sha256:7`; tpm11 only)"),
    ("addkey-ecc256", "`addkey ecc256` (`tpm11` / `tpm2_ptool`)"),
    ("addkey-rsa2048", "`addkey rsa2048` (`tpm11` / `tpm2_ptool`)"),
    ("changepin", "`changepin` (user PIN; `tpm11` / `tpm2_ptool`)"),
]
IMPLS = ["tpm11", "tpm2-pkcs11"]


def cc_names(src):
    """{command code: TCG name} from bench/tcti-wrap.h, the table the
    counting and the profile TCTI name commands with."""
    names = {}
    for l in read_lines(os.path.join(src, "bench", "tcti-wrap.h")):
        m = re.match(r'\s*\[0x([0-9a-f]+) - TCTI_CC_BASE\] = \{ "(\w+)"', l)
        if m:
            names[int(m.group(1), 16)] = m.group(2)
    return names


def cc_key(name, names):
    """A command as a profile names it (any case, TPM2_ or TPM_CC_ prefix,
    or 0xCC) as the log names it, lower case."""
    n = name.lower()
    for pre in ("tpm2_", "tpm_cc_"):
        if n.startswith(pre):
            n = n[len(pre):]
    if n.startswith("0x"):
        try:
            c = int(n, 16)
        except ValueError:
            return n
        return names.get(c, f"0x{c:x}").lower()
    return n


def load_profile(path, names):
    """The latencies (ms) and hidden commands of a profile file (format:
    tests/tcti/tcti-profile.c): {"default": ms, "lat": {(cc, kind): ms},
    "hidden": {cc}}; kind "" for a latency of the command as such."""
    prof = {"default": 0, "lat": {}, "hidden": set(), "any": False, "shown": []}
    for l in read_lines(path):
        v = l.split("#", 1)[0].split()
        if len(v) == 3 and v[0] == "latency":
            prof["any"] = True
            if v[1] == "default":
                prof["default"] = int(v[2])
            else:
                cc, _, kind = v[1].partition("/")
                prof["lat"][(cc_key(cc, names), kind)] = int(v[2])
                prof["shown"].append(f"{v[1]} {v[2]}")
        elif v and v[0] == "hide-command":
            prof["hidden"].update(cc_key(c, names) for c in v[1:])
    return prof


def latency(prof, cc, kind):
    """What the profile TCTI sleeps for one command (latency_of): the
    command's latency for its key kind, else for the command, else the
    default."""
    k = cc.lower()
    if kind and (k, kind) in prof["lat"]:
        return prof["lat"][(k, kind)]
    return prof["lat"].get((k, ""), prof["default"])


def action_log(path):
    """[(command, kind, rc)] from the lines "pid=N cc=NAME[/KIND] rc=RC"."""
    out = []
    for l in read_lines(path):
        f = dict(x.split("=", 1) for x in l.split() if "=" in x)
        if "cc" in f:
            cc, _, kind = f["cc"].partition("/")
            out.append((cc, kind, f.get("rc", "-")))
    return out


def by_code(cmds):
    """"N: A 1, B 2, ..." in the order the commands first came."""
    order = {}
    for cc, _, _ in cmds:
        order[cc] = order.get(cc, 0) + 1
    return f"**{len(cmds)}**: " + ", ".join(f"{cc} {n}" for cc, n in order.items()) if cmds else "**0**"


def profile_slept(path):
    """(ms, n): the latencies the profile TCTI logged (TPM11_PROFILE_LOG
    lines "N Command sent rc=RC latency=MS"), and how many commands it
    answered itself, at once (hidden or refused as the chip would)."""
    total = n = 0
    for l in read_lines(path):
        m = re.search(r"\blatency=(\d+)", l)
        if m:
            total += int(m.group(1))
        elif l.strip():
            n += 1
    return total, n


def model_check(res, st, impls, profiles, logs, P):
    """ssh-cold again through each profile TCTI: its commands against those
    on swtpm, and the model of its commands against what the profile TCTI
    logged that it slept."""
    rows = []
    for pname, prof in profiles:
        row = [pname]
        for i in impls:
            a = f"ssh-cold@{pname}"
            s_ = st.get((i, a))
            if s_ is None or s_[0] != "ok" or (i, "ssh-cold") not in logs:
                row.append("-" if s_ is None else s_[0])
                continue
            cmds = action_log(os.path.join(res, "actions", f"{i}.{a}.log"))
            model = sum(latency(prof, cc, k) for cc, k, _ in cmds)
            slept, own = profile_slept(os.path.join(res, "actions", f"{i}.{a}.profile.log"))
            base = logs[(i, "ssh-cold")]
            same = sorted(c for c, _, _ in cmds) == sorted(c for c, _, _ in base)
            row.append(f"{len(cmds)} ({'as on swtpm' if same else 'swtpm: %d' % len(base)}); "
                       f"{model:,.0f} / {slept:,.0f}" +
                       (f" ({own} refused by the profile at once)" if own else
                        "" if model == slept else " **differ**"))
        rows.append(row)
    if not rows or all(c == "-" for r_ in rows for c in r_[1:]):
        return
    P("\nCheck of the model: the cold ssh login again, with the profile TCTI between the "
      "counting TCTI and tpm2-abrmd. Cells: TPM commands (against the same action on "
      "swtpm); the model's ms for them / the latencies the profile TCTI logged "
      "(`TPM11_PROFILE_LOG`). A chip that offers less than swtpm can change what a "
      "module sends; the profile TCTI sleeps what the model adds, except for commands it "
      "refuses itself as the chip would (an algorithm the chip lacks), which it answers "
      "at once and the model counts at the default latency.\n")
    P(table(["profile"] + impls, rows))


def exit_check(res, helpers):
    """The log against the counts each process wrote at exit
    (TCTI_COUNT_FILE): the same per process, or which processes ended
    without running their exit handlers (they write no count)."""
    per_log = {}
    for l in read_lines(os.path.join(res, "actions", "count.log")):
        pid = l.split()[0] if l else ""
        per_log[pid] = per_log.get(pid, 0) + 1
    per_exit = {}
    for l in read_lines(os.path.join(res, "actions", "count.file")):
        f = dict(x.split("=", 1) for x in l.split() if "=" in x and x.startswith(("pid", "total")))
        if "pid" in f:
            per_exit["pid=" + f["pid"]] = int(f.get("total", 0))
    differ = [p for p in per_exit if per_exit[p] != per_log.get(p, 0)]
    no_exit = [p for p in per_log if p not in per_exit]
    out = (f"Check: {sum(per_log.values())} commands logged by {len(per_log)} processes; "
           f"{len(per_exit)} of them wrote their count at exit")
    if differ:
        out += (", and " + ", ".join(f"{p} counted {per_exit[p]} but logged {per_log.get(p, 0)}"
                                     for p in differ))
    else:
        out += ", each the same as its log"
    if no_exit:
        hp = [p for p in no_exit if p[len("pid="):] in helpers]
        out += (f"; {len(no_exit)} ended without running exit handlers, so their "
                f"{sum(per_log[p] for p in no_exit)} commands are only in the log"
                f" ({len(hp)} of them ssh-agent's ssh-pkcs11-helper)")
    return out + "."


def actions_section(res, meta, P):
    st = {}
    checks = {}
    for l in read_lines(os.path.join(res, "actions.txt")):
        parts = l.split(None, 3)
        if len(parts) >= 3 and parts[0] == "check" and parts[1] == "helper":
            checks.setdefault("helper", []).append(parts[2])
        elif len(parts) >= 3 and parts[0] == "check":
            checks[parts[1]] = parts[2:]
        elif len(parts) >= 3:
            st[(parts[0], parts[1])] = (parts[2], parts[3] if len(parts) > 3 else "")
    if not st:
        return
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = cc_names(src)
    pdir = meta.get("profiles") or os.path.join(src, "tests", "tcti", "profiles")
    profiles = []
    silent = []
    for path in sorted(glob.glob(os.path.join(pdir, "*.profile"))):
        name = os.path.basename(path)[:-len(".profile")]
        prof = load_profile(path, names)
        (profiles if prof["any"] else silent).append((name, prof))
    impls = [i for i in IMPLS if any(k[0] == i and v[0] != "skip" for k, v in st.items())]
    logs = {}
    for i in impls:
        for a, _ in ACTIONS:
            if st.get((i, a), ("",))[0] == "ok":
                logs[(i, a)] = action_log(os.path.join(res, "actions", f"{i}.{a}.log"))

    def cell(i, a, fn):
        s_ = st.get((i, a))
        if s_ is None:
            return "-"
        if s_[0] != "ok":
            return s_[0] + (f" ({s_[1]})" if s_[1] else "")
        return fn(logs[(i, a)])

    P("## TPM commands per user action\n")
    P(f"Clients: {meta.get('clients', '?')}; the modules through the same tpm2-abrmd "
      "(on swtpm), each with a store of its own holding one token with one ECC P-256 key. "
      "Counted by `libtss2-tcti-count.so` in every process that loads the module "
      "(ssh-agent's helper too), command by command (`TCTI_COUNT_LOG`), in the order "
      "they were first sent.\n")
    left_out = sorted(k for k, v in st.items() if v[0] == "skip" and k[1] == "-")
    for i, a in left_out:
        P(f"- {i}: skipped ({st[(i, a)][1]})")
    if left_out:
        P("")
    rows = [[title] + [cell(i, a, by_code) for i in impls] for a, title in ACTIONS]
    P(table(["action"] + impls, rows))
    P("")
    if not profiles:
        return
    P("## Modelled TPM time per user action (ms), under each chip profile\n")
    P("T(action, profile) = sum over the action's TPM commands of L(command, kind), "
      "L = the profile's `latency COMMAND/KIND` if it has one, else its `latency COMMAND`, "
      "else its `latency default`; kind = the key's type (rsa, ecc) for commands on a key "
      "(the new key's for Create and Load) -- the lookup the profile TCTI sleeps. "
      "Computed from the counts, not timed: only the TPM's time, without client CPU, "
      "IPC or the network, and without the ContextSave/ContextLoad a resource manager "
      "adds behind the client. Cells: " + " / ".join(impls) + ".\n")
    notes = []

    def model(prof, pname):
        def f(cmds):
            ms = sum(latency(prof, cc, k) for cc, k, _ in cmds)
            hid = sorted({cc for cc, _, _ in cmds if cc.lower() in prof["hidden"]})
            mark = ""
            if hid:
                notes.append(f"{pname}: uses {', '.join(hid)}, which this chip lacks")
                mark = "†"
            return f"{ms:,.0f}{mark}"
        return f
    rows = []
    for a, title in ACTIONS:
        row = [title]
        for pname, prof in profiles:
            row.append(" / ".join(cell(i, a, model(prof, pname)) for i in impls))
        rows.append(row)
    P(table(["action"] + [p for p, _ in profiles], rows))
    lat = []
    for pname, prof in profiles:
        lat.append(f"- {pname}: default {prof['default']} ms; " + ", ".join(prof["shown"]))
    P("\nProfile latencies (ms; tests/tcti/profiles, each number cited there):\n")
    P("\n".join(lat))
    if silent:
        P("\n(" + ", ".join(n for n, _ in silent) + ": no latencies, not shown.)")
    for n in sorted(set(notes)):
        P(f"\n† {n}: the count on it would differ.")
    model_check(res, st, impls, profiles, logs, P)
    failed = []
    for i in impls:
        for a, _ in ACTIONS:
            errs = {}
            for cc, _, rc in logs.get((i, a), []):
                if rc != "0x0":
                    errs[f"{cc} {rc}"] = errs.get(f"{cc} {rc}", 0) + 1
            if errs:
                failed.append(f"{i} {a}: " + ", ".join(f"{k} ({n}x)" for k, n in errs.items()))
    if failed:
        P("\nAnswered with an error, and counted (they reach the TPM and take its time): " +
          "; ".join(failed) + ".")
    P("\n" + exit_check(res, checks.get("helper", [])))
    if "seconds" in checks:
        P(f"\nThe table took {checks['seconds'][0]} s (set-up, clients and all).")
    P("")


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

    def first_of(*cfgs):
        for c in cfgs:
            if R.has(c):
                return c
        return cfgs[0]
    t11big = first_of("tpm11-big@direct", "tpm11-big@rm")
    t11keys = first_of("tpm11-keys@direct", "tpm11-keys@rm")
    t11many = first_of("tpm11-many@direct", "tpm11-many@rm")
    # the "same TCTI" pair for tpm11 vs raw: direct on swtpm, else the RM
    t11 = "tpm11@direct" if R.has("tpm11@direct") else "tpm11@rm"
    raw = "raw@direct" if R.has("raw@direct") else "raw@rm"
    p2 = "tpm2-pkcs11@rm"
    out = []
    P = out.append

    P("# tpm11 benchmark results\n")
    P(f"- date: {meta.get('date', '?')}; host: {meta.get('host', '?')}")
    P(f"- TPM: {meta.get('tpm', '?')}")
    ld = meta.get("load", "").split()
    if meta.get("actions_only"):
        ld = []  # no timed measurement in this run
    if len(ld) == 2:
        P(f"- machine load (1-minute average, {os.cpu_count()} cores) when the measurements "
          f"started / ended: {ld[0]} / {ld[1]}; other work on the machine shares the cores "
          "with swtpm and moves the numbers")
    if not meta.get("actions_only"):
        P(f"- rounds: {meta.get('rounds', '?')} (alternating), {meta.get('seconds', '?')} s per rate; "
          f"admin tools: {meta.get('tool_rounds', '?')} rounds; values are medians over rounds")
    P(f"- tpm11: {meta.get('tpm11') or 'not measured'}")
    P(f"- tpm2-pkcs11: {meta.get('tpm2-pkcs11') or 'not measured'}; tpm2-tss {meta.get('tss', '?')}")
    if device:
        P("- direct = RM = the kernel resource manager (/dev/tpmrm0)")
    elif meta.get("actions_only"):
        P("- only the table of TPM commands per user action (`bench/run --actions-only`)")
    else:
        P("- direct = swtpm: TCTI (no resource manager); RM = tpm2-abrmd on a private D-Bus")
    for n in notes:
        P(f"- note: {n}")
    P("")
    if meta.get("actions_only"):
        actions_section(res, meta, P)
        print("\n".join(out))
        return

    # --- signing rates
    P("## C_Sign rate, one thread (signatures/s)\n")
    rows = []
    for a in ALGS:
        rows.append([ALG_TITLE[a],
                     R.cell("raw@direct", f"raw.{a}.rate"),
                     R.cell("tpm11@direct", f"sign.{a}.rate"),
                     pct(R.pair("tpm11@direct", f"sign.{a}.rate", "raw@direct", f"raw.{a}.rate")),
                     R.cell("raw@rm", f"raw.{a}.rate"),
                     R.cell("tpm11@rm", f"sign.{a}.rate"),
                     R.cell(p2, f"sign.{a}.rate"),
                     pct(R.pair("tpm11@rm", f"sign.{a}.rate", "raw@rm", f"raw.{a}.rate")),
                     pct(R.pair("tpm11@rm", f"sign.{a}.rate", p2, f"sign.{a}.rate"))])
    if R.has("raw@rm") and R.med("raw@rm", "rawhmac.ecdsa-p256.rate") is not None:
        rows.append(["ECDSA P-256, raw with an HMAC session", "-", "-", "-",
                     R.cell("raw@rm", "rawhmac.ecdsa-p256.rate"), "-", "-", "-", "-"])
    P(table(["algorithm", "raw direct", "tpm11 direct", "tpm11/raw",
             "raw RM", "tpm11 RM", "tpm2-pkcs11 RM", "tpm11/raw RM",
             "tpm11/tpm2-pkcs11"], rows))
    P("\nRates: medians over rounds. Ratios: median over rounds of each round's ratio "
      "(the two were measured seconds apart).\n")
    # What each module adds to one signature over raw TPM2_Sign, same TCTI.
    rows = []
    for a in ALGS:
        row = [ALG_TITLE[a]]
        for cfg, rawc in (("tpm11@direct", "raw@direct"), ("tpm11@rm", "raw@rm"), (p2, "raw@rm")):
            v = R.pair(cfg, f"sign.{a}.rate", rawc, f"raw.{a}.rate",
                       lambda t, r: (1 / t - 1 / r) * 1e6)
            row.append("-" if v is None else f"{v:.0f}")
        rows.append(row)
    if any(c != "-" for r_ in rows for c in r_[1:]):
        P("Time each module adds to one signature over raw TPM2_Sign through the same "
          "TCTI (µs; 1/rate - 1/raw rate; a negative value is run-to-run noise):\n")
        P(table(["algorithm", "tpm11 direct", "tpm11 RM", "tpm2-pkcs11 RM"], rows))
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
    P("## Cold start, per step: wall ms / client CPU ms (TPM commands)\n")
    steps = [("dlopen", "dlopen + C_GetFunctionList"), ("init", "C_Initialize"),
             ("slots", "C_GetSlotList"), ("tokeninfo", "C_GetTokenInfo"),
             ("open", "C_OpenSession"), ("login", "C_Login"),
             ("find", "C_FindObjects (the key)"), ("sign", "first C_Sign")]
    cold_cfgs = [c for c in ("tpm11@direct", "tpm11@rm", p2) if R.has(c)]

    def cold(cfg, s):
        ms = R.med(cfg, f"cold.{s}_ms")
        n = R.med(cfg, f"cold.{s}.cmds")
        cpu = R.med(cfg, f"cold.{s}_cpu_ms")
        if ms is None:
            return "-"
        out_ = f"{ms:.2f}"
        if cpu is not None:
            out_ += f" / {cpu:.2f}"
        return out_ + (f" ({n:.0f})" if n is not None else "")
    rows = [[title] + [cold(c, s) for c in cold_cfgs] for s, title in steps]
    rows.append(["**total**"] + [cold(c, "total") for c in cold_cfgs])
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
        for ph in R.data.get(c, {}).values():
            for k in ph:
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
            cpu = R.med(c, f"threads.{n}.cpu_us")
            if rate is None:
                row.append(R.word(c, f"threads.{n}.rate") or "-")
            else:
                pr_ = R.pair(c, f"threads.{n}.rate", c, "threads.1.rate")
                row.append(f"{rate:.0f} ({'-' if pr_ is None else f'{pr_:.0%}'}; {e:.0f} err"
                           + (f"; {cpu:.0f} µs CPU" if cpu is not None else "") + ")")
        rows.append(row)
    P(table(["threads"] + tcfgs, rows))
    P("\n(percentage: of the same module's 1-thread rate; CPU: client CPU per signature)\n")

    # --- memory and search
    P("## Memory and object search\n")
    big = {}
    for l in read_lines(os.path.join(res, "big.txt")):
        parts = l.split()
        if parts:
            big[parts[0]] = " ".join(parts[1:])
    cols = [(lbl, m, bg, k) for lbl, m, bg, k in
            (("tpm11 direct", "tpm11@direct", t11big if t11big.endswith("@direct") else "-", "tpm11"),
             ("tpm11 RM", "tpm11@rm", t11big if t11big.endswith("@rm") else "-", "tpm11"),
             ("tpm2-pkcs11 RM", p2, "tpm2-pkcs11-big@rm", "tpm2-pkcs11"))
            if R.has(m) or R.has(bg)]

    def kb(c, n):
        v = R.med(c, n)
        if v is None:
            return "-"
        an = R.med(c, n.replace("_added_kb", "_anon_added_kb"))
        if an is not None and n.endswith("_added_kb"):
            return f"{v / 1024:.1f} MiB (anon {an / 1024:.1f})"
        return f"{v / 1024:.1f} MiB"

    def find(c):
        if not R.has(c):
            return "-"
        return f"{R.cell(c, 'find.all_ms', '{:.3f}')} ({R.cell(c, 'find.objects', '{:.0f}')} objects)"
    rows = []
    rows.append(["RSS before dlopen (p11bench itself)"] + [kb(m, "rss.base_kb") for _, m, _, _ in cols])
    rows.append(["added by dlopen + C_Initialize"] + [kb(m, "rss.init_added_kb") for _, m, _, _ in cols])
    rows.append(["added after C_Login"] + [kb(m, "rss.login_added_kb") for _, m, _, _ in cols])
    rows.append(["added after the P-256 C_Sign loop"] +
                [kb(m, "rss.steady_added_kb") for _, m, _, _ in cols])
    rows.append(["added after the thread test"] + [kb(m, "rss.end_added_kb") for _, m, _, _ in cols])
    rows.append(["peak RSS (maxrss)"] + [kb(m, "rss.peak_kb") for _, m, _, _ in cols])
    rows.append(["main token: C_FindObjects, all objects (ms)"] + [find(m) for _, m, _, _ in cols])
    rows.append(["big token: contents"] + [big.get(k, "-") if R.has(bg) else "-" for _, _, bg, k in cols])
    rows.append(["big token: RSS added after login + find"] + [kb(bg, "rss.end_added_kb") for _, _, bg, _ in cols])
    rows.append(["big token: C_FindObjects, all objects (ms)"] + [find(bg) for _, _, bg, _ in cols])
    if R.has(t11keys):
        rows.append(["token with the keys only: RSS added after login + find"] +
                    [kb(t11keys, "rss.end_added_kb") if bg == t11big and R.has(bg) else "-"
                     for _, _, bg, _ in cols])
    def bymap(c):
        m = R.maps(c)
        return ", ".join(f"{n} {v / 1024:.2f}" for n, v in m[:6]) if m else "-"
    rows.append(["big token: RSS added by mapping (MiB)"] + [bymap(bg) for _, _, bg, _ in cols])
    if R.has(t11keys):
        rows.append(["token with the keys only: RSS added by mapping (MiB)"] +
                    [bymap(t11keys) if bg == t11big and R.has(bg) else "-" for _, _, bg, _ in cols])
    if R.has(t11many):
        rows.append(["\"many\" token (key pairs only): contents"] +
                    [big.get("tpm11-many", "-") if bg.startswith("tpm11") else "-"
                     for _, _, bg, _ in cols])
        rows.append(["\"many\" token: C_FindObjects, all objects (ms)"] +
                    [find(t11many) if bg.startswith("tpm11") else "-"
                     for _, _, bg, _ in cols])
    mcfgs = [lbl for lbl, _, _, _ in cols]
    P(table([""] + mcfgs, rows))
    P("\nRSS added: growth over the process before dlopen; anon = heap, stacks and "
      "private data, the rest is file-backed (library code; through tpm2-abrmd that "
      "includes the tabrmd TCTI with GLib and D-Bus). Big token: a store of its "
      "own holding only that token.\n")

    # --- admin tools
    tool = {}
    for l in read_lines(os.path.join(res, "tool.txt")):
        parts = l.split()
        if len(parts) >= 3:
            tool.setdefault((parts[0], parts[1]), []).append(
                (parts[2], parts[3] if len(parts) > 3 else "-", parts[4] if len(parts) > 4 else "-"))

    def tmed(impl, cmd, idx=0):
        vals = [num(v[idx]) for v in tool.get((impl, cmd), [])]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None
    if tool:
        P("## Admin tool: wall ms / CPU ms of its processes (TPM commands)\n")
        rows = []
        for cmd in ["init", "addtoken", "addkey-ecc256", "addkey-ecc384", "addkey-rsa2048", "listobjects"]:
            a = tmed("tpm11", cmd)
            b = tmed("tpm2_ptool", cmd)

            def c(impl, v):
                if v is None:
                    errs = tool.get((impl, cmd))
                    return "error" if errs else "-"
                n = tmed(impl, cmd, 1)
                cpu = tmed(impl, cmd, 2)
                return (f"{v:.0f}" + (f" / {cpu:.0f}" if cpu is not None else "") +
                        (f" ({n:g})" if n is not None else ""))
            rows.append([cmd, c("tpm11", a), c("tpm2_ptool", b), ratio(b, a, "{:.1f}x")])
        d = tmed("tpm11-direct", "addkey-ecc256")
        if d is not None:
            dc = tmed("tpm11-direct", "addkey-ecc256", 2)
            dn = tmed("tpm11-direct", "addkey-ecc256", 1)
            rows.append(["addkey-ecc256, tpm11 without RM",
                         f"{d:.0f}" + (f" / {dc:.0f}" if dc is not None else "") +
                         (f" ({dn:g})" if dn is not None else ""), "-", "-"])
        P(table(["command", "tpm11 wall / CPU (cmds)", "tpm2_ptool wall / CPU (cmds)",
                 "tpm2_ptool/tpm11 (wall)"], rows))
        P("\n(init: one run; the others: median of the rounds; both tools through the same RM)\n")

    actions_section(res, meta, P)

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
        v = R.pair(cfg_t, "sign.ecdsa-p256.rate", cfg_r, "raw.ecdsa-p256.rate")
        target(f"P-256 C_Sign >= 90% of raw TPM2_Sign ({where})",
               "-" if v is None else f"{v:.0%} (medians {t:.0f} / {r:.0f})", cmp(v, ">=", 0.9))
    t, p = R.med("tpm11@rm", "sign.ecdsa-p256.rate"), R.med(p2, "sign.ecdsa-p256.rate")
    v = R.pair("tpm11@rm", "sign.ecdsa-p256.rate", p2, "sign.ecdsa-p256.rate")
    target("P-256 C_Sign >= 8x tpm2-pkcs11 (same RM)",
           "-" if v is None else f"{v:.1f}x (medians {t:.0f} / {p:.0f})", cmp(v, ">=", 8))
    rr = R.med("raw@rm", "raw.ecdsa-p256.rate")
    c_ = R.pair("raw@rm", "raw.ecdsa-p256.rate", p2, "sign.ecdsa-p256.rate")
    if c_ is not None:
        rows.append(["... the ceiling of that ratio here: raw TPM2_Sign via RM / tpm2-pkcs11",
                     f"{c_:.1f}x (medians {rr:.0f} / {p:.0f})",
                     "8x reachable" if c_ >= 8 else "8x not reachable through this RM"])
    n = R.med(t11, "sign.ecdsa-p256.cmds")
    target("steady C_Sign = 1 TPM command", "-" if n is None else f"{n:.2f}", cmp(n, "<=", 1.0))
    c = R.med(t11, "sign.ecdsa-p256.cpu_us")
    target("C_Sign client CPU < 0.2 ms", "-" if c is None else f"{c:.0f} µs", cmp(c, "<", 200))
    n = R.med(t11, "cold.init.cmds")
    target("C_Initialize: 0 TPM commands", "-" if n is None else f"{n:.0f}",
           None if n is None else n == 0)
    ms = R.med(t11, "cold.init_ms")
    cpu = R.med(t11, "cold.init_cpu_ms")
    target("C_Initialize < 1 ms",
           "-" if ms is None else f"{ms:.2f} ms" + (f" (client CPU {cpu:.2f} ms)" if cpu is not None else ""),
           cmp(ms, "<", 1))
    ms = R.med(t11, "cold.total_ms")
    cpu = R.med(t11, "cold.total_cpu_ms")
    ncmd = sum(R.med(t11, f"cold.{s_}.cmds") or 0 for s_ in
               ("dlopen", "init", "slots", "tokeninfo", "open", "login", "find", "sign"))
    target("cold start to first signature < 15 ms" + ("" if device else " (swtpm)"),
           "-" if ms is None else f"{ms:.1f} ms" +
           (f" (client CPU {cpu:.1f} ms, {ncmd:.0f} TPM commands)" if cpu is not None else ""),
           cmp(ms, "<", 15))
    a, b = tmed("tpm11", "addkey-ecc256"), tmed("tpm2_ptool", "addkey-ecc256")
    ac, an = tmed("tpm11", "addkey-ecc256", 2), tmed("tpm11", "addkey-ecc256", 1)
    target("tpm11 addkey ecc256 < 50 ms (through the RM)",
           "-" if a is None else f"{a:.0f} ms" +
           (f" (CPU {ac:.0f} ms, {an:g} TPM commands)" if ac is not None and an is not None else ""),
           cmp(a, "<", 50))
    d = tmed("tpm11-direct", "addkey-ecc256")
    if d is not None:
        target("tpm11 addkey ecc256 < 50 ms (swtpm directly)", f"{d:.0f} ms", cmp(d, "<", 50))
    v = b / a if a and b else None
    target("tpm11 addkey >= 10x faster than tpm2_ptool addkey",
           "-" if v is None else f"{b:.0f}/{a:.0f} = {v:.1f}x", cmp(v, ">=", 10))
    r16, r1 = R.med(t11, "threads.16.rate"), R.med(t11, "threads.1.rate")
    e16 = sum(num(x) or 0 for x in R.raw(t11, "threads.16.errors"))
    v = R.pair(t11, "threads.16.rate", t11, "threads.1.rate")
    target("16 threads >= 90% of 1 thread, no errors",
           "-" if v is None else f"{v:.0%} (medians {r16:.0f} / {r1:.0f}), {e16:.0f} errors",
           None if v is None else (v >= 0.9 and e16 == 0))
    # The RSS target is for one token with 100 keys: the "keys" store when
    # the run has it, else the big token (keys and data objects).
    rcfg, rwhat = (t11keys, big.get("tpm11-keys", "?")) if R.has(t11keys) else \
        (t11big, big.get("tpm11", "?"))
    kbv = R.med(rcfg, "rss.end_added_kb")
    kba = R.med(rcfg, "rss.end_anon_added_kb")
    mm = dict(R.maps(rcfg))
    own = ""
    if mm:
        own = (f"; tpm11's code {mm.get('libtpm11.so', 0) / 1024:.2f} MiB, heap "
               f"{mm.get('[heap]', 0) / 1024:.2f} MiB, the rest pages of shared libraries")
    target("added RSS < 4 MB (1 token, 100 keys)",
           "-" if kbv is None else f"{kbv / 1024:.1f} MiB, of it anon {(kba or 0) / 1024:.1f} "
           f"({rwhat}){own}", cmp(kbv, "<", 4096))
    fcfg = t11many if R.has(t11many) else t11big
    f = R.med(fcfg, "find.all_ms")
    objs = R.med(fcfg, "find.objects")
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
