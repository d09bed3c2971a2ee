#!/usr/bin/env python3
"""Load test: Postfix on loopback with and without `schoolgate serve`.

Sends the same typical 30 KB message (fixtures/messages/outlook-typical-30kb.eml,
which schoolgate rewrites with a disclaimer) through Postfix with C concurrent
SMTP clients, N messages a run, in interleaved rounds with the milter and
without it (this machine's speed drifts by a fifth from minute to minute, so
one run of each would measure the drift), and prints the median over the
rounds of messages per second and of each message's latency (MAIL FROM to the
reply to end of DATA): median and p99. "Added latency" is the difference.

Needs root, Debian's postfix, and a release build with the load client
(examples/smtp_load.rs, which costs the machine far less than smtplib):
    cargo build --release --bins --examples && sudo python3 benches/postfix_load.py [N] [C]
It changes /etc/postfix (like the end-to-end test) and stops Postfix after.

Settings, by environment:
    SCHOOLGATE_LOAD_MESSAGE=FILE   the message (default the Outlook fixture; the
                                   closing notes send it with its disclaimer, made by
                                   `schoolgate scan --output`, so it is approved)
    SCHOOLGATE_LOAD_RCPT=ADDR      the recipient (default an external parent)
    SCHOOLGATE_LOAD_SOCKET=unix    the milter on a Unix socket, as deployed (default TCP)
    SCHOOLGATE_LOAD_ROUNDS=R       rounds of each (default 3)
    SCHOOLGATE_LOAD_NICE=-5        the milter's priority as contrib/schoolgate.service gives
                                   it: a scheduling group of its own (its own session, so
                                   its own kernel autogroup) weighted like nice -5 against
                                   Postfix's group (the unit's CPUWeight=300 against 100),
                                   and nice -5 within it (the unit's Nice=-5)
    SCHOOLGATE_LOAD_SHARED_GROUP=1 the milter in this script's scheduling group instead,
                                   where its nice value does not count against Postfix
    SCHOOLGATE_LOAD_WORKERS=W      milter.workers (default 2)
    SCHOOLGATE_LOAD_MILTER=null    examples/null_milter instead: the cost of any milter
    SCHOOLGATE_LOAD_FLOOR=1        examples/null_milter as well, in interleaved rounds of its
                                   own: what any milter costs Postfix, beside what schoolgate
                                   costs, under the same drift
    SCHOOLGATE_LOAD_PERF=DIR       `perf record -a` of the first round of each
    SCHOOLGATE_LOAD_LOG=FILE       the milter's log
    SCHOOLGATE_LOAD_CPUS=LIST      run the milter under `taskset -c LIST`
    SCHOOLGATE_LOAD_CLIENT=python  Python's smtplib as the client, as before examples/smtp_load
    SCHOOLGATE_LOAD_COMPARE=BINARY another schoolgate build, in interleaved rounds of its own
                                   (an A/B comparison under the same drift), or
                                   benches/libmilter_null.c, built: a null milter on C libmilter
"""
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMTPD_PORT = 2525
ROUNDS = int(os.environ.get("SCHOOLGATE_LOAD_ROUNDS", "3"))
# SCHOOLGATE_LOAD_MILTER=null: examples/null_milter instead of schoolgate, the
# cost of having any milter (`cargo build --release --example null_milter`).
NULL_MILTER = os.environ.get("SCHOOLGATE_LOAD_MILTER") == "null"
NULL_MILTER_BINARY = os.path.join(ROOT, "target/release/examples/null_milter")
# An external recipient: the typical message is rewritten (disclaimer). Set
# SCHOOLGATE_LOAD_RCPT to an internal address to measure an approved message.
RECIPIENT = os.environ.get("SCHOOLGATE_LOAD_RCPT", "parent@gmail.com")
MESSAGE_FILE = os.environ.get("SCHOOLGATE_LOAD_MESSAGE", os.path.join(ROOT, "fixtures/messages/outlook-typical-30kb.eml"))
MESSAGE = open(MESSAGE_FILE, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
SENDER = "s.jenkins@oakfield.sch.uk"
# The client: examples/smtp_load (`cargo build --release --example smtp_load`),
# or with SCHOOLGATE_LOAD_CLIENT=python, Python's smtplib in threads, which
# takes about 8 % of both cores here and so hides part of the milter's share.
PYTHON_CLIENT = os.environ.get("SCHOOLGATE_LOAD_CLIENT") == "python"
RUST_CLIENT = os.path.join(ROOT, "target/release/examples/smtp_load")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def postconf(*settings):
    subprocess.run(["postconf", "-e", *settings], check=True)


def process_usage(pid):
    """A process's (user CPU seconds, system CPU seconds, minor page faults) so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) / tick, int(fields[12]) / tick, int(fields[7]))


def machine_times():
    """The machine's (idle, total) CPU time so far, in ticks, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def run_load(n, concurrency, perf_output=None):
    """Send n messages over `concurrency` connections; with perf_output, the
    whole machine is profiled meanwhile (`perf record -a`) into that file."""
    perf = None
    if perf_output:
        perf = subprocess.Popen(["perf", "record", "-a", "-g", "-o", perf_output], stderr=subprocess.DEVNULL)
        time.sleep(1)
    try:
        if PYTHON_CLIENT:
            return python_load(n, concurrency)
        out = subprocess.run(
            [RUST_CLIENT, f"127.0.0.1:{SMTPD_PORT}", MESSAGE_FILE, SENDER, RECIPIENT, str(n), str(concurrency)],
            check=True, capture_output=True, text=True,
        ).stdout
        fields = dict(field.split("=") for field in out.split())
        return {"rate": float(fields["rate"]), "median_ms": float(fields["median_ms"]), "p99_ms": float(fields["p99_ms"])}
    finally:
        if perf:
            perf.send_signal(2)
            perf.wait()


def python_load(n, concurrency):
    """run_load with Python's smtplib, one thread a connection."""
    latencies = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker():
        client = smtplib.SMTP("127.0.0.1", SMTPD_PORT, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            start = time.perf_counter()
            client.sendmail(SENDER, [RECIPIENT], MESSAGE)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
        client.quit()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - start
    latencies.sort()
    return {
        "rate": n / total,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    }


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    binary = os.path.join(ROOT, "target/release/schoolgate")
    if not PYTHON_CLIENT and not os.path.exists(RUST_CLIENT):
        sys.exit("build the client first: cargo build --release --example smtp_load")
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/postfix") or not os.path.exists(binary):
        sys.exit("needs root, postfix, and `cargo build --release`")
    sink_port = free_port()
    unix = os.environ.get("SCHOOLGATE_LOAD_SOCKET") == "unix"
    # SCHOOLGATE_LOAD_COMPARE=BINARY: a second schoolgate build, in rounds of its own.
    binaries = [("with milter", binary)]
    if os.environ.get("SCHOOLGATE_LOAD_COMPARE"):
        binaries.append(("with milter B", os.path.abspath(os.environ["SCHOOLGATE_LOAD_COMPARE"])))
    if os.environ.get("SCHOOLGATE_LOAD_FLOOR") and not NULL_MILTER:
        binaries.append(("null milter", NULL_MILTER_BINARY))
    sink = subprocess.Popen(["smtp-sink", "-u", "root", "-c", f"127.0.0.1:{sink_port}", "1000"], stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        log = open(os.environ.get("SCHOOLGATE_LOAD_LOG", os.devnull), "w")
        milters = {name: start_milter(name, path, unix, tmp, log) for name, path in binaries}
        try:
            postconf(
                "inet_interfaces = loopback-only", "mydestination =", "default_transport = smtp",
                "relay_transport = relay", f"relayhost = [127.0.0.1]:{sink_port}", "mynetworks = 127.0.0.0/8",
                "smtpd_milters =", "milter_default_action = tempfail",
                "milter_protocol = 6", "smtp_tls_security_level = none", "smtpd_tls_security_level = none",
                "maillog_file = /var/log/postfix-schoolgate-load.log",
            )
            subprocess.run(["postconf", "-M", f"127.0.0.1:{SMTPD_PORT}/inet=127.0.0.1:{SMTPD_PORT} inet n - n - - smtpd"], check=True)
            subprocess.run(["postfix", "stop"], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            subprocess.run(["postfix", "start"], check=True, stderr=subprocess.DEVNULL)
            assert wait_port(SMTPD_PORT), "postfix did not start"
            perf_dir = os.environ.get("SCHOOLGATE_LOAD_PERF")
            rounds = {name: [] for name in [*milters, "without"]}
            milter_usage = {name: (0.0, 0.0, 0) for name in milters}
            # Interleaved rounds: this machine's speed drifts by 20 % from
            # minute to minute, so one run of each would measure the drift.
            for round_no in range(ROUNDS):
                for name in rounds:
                    process, listen = milters.get(name, (None, ""))
                    postconf(f"smtpd_milters = {listen}")
                    subprocess.run(["postfix", "reload"], check=True, stderr=subprocess.DEVNULL)
                    time.sleep(1)
                    run_load(min(50, n), concurrency)  # warm up: new smtpd and cleanup processes
                    perf = perf_dir and round_no == 0 and os.path.join(perf_dir, name.replace(" ", "-") + ".data")
                    before = process and process_usage(process.pid)
                    idle_before, total_before = machine_times()
                    result = run_load(n, concurrency, perf)
                    idle_after, total_after = machine_times()
                    result["idle"] = (idle_after - idle_before) / max(1, total_after - total_before)
                    rounds[name].append(result)
                    if process:
                        after = process_usage(process.pid)
                        milter_usage[name] = tuple(t + a - b for t, a, b in zip(milter_usage[name], after, before))
        finally:
            for process, _ in milters.values():
                process.terminate()
                process.wait()
            subprocess.run(["postfix", "stop"], stderr=subprocess.DEVNULL)
            # Messages still queued at the stop are this test's own: drop them, or the
            # next Postfix start (the end-to-end test's) would deliver them.
            subprocess.run(["postsuper", "-d", "ALL"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sink.terminate()
    print(f"{n} messages of {len(MESSAGE)} bytes, {concurrency} concurrent clients, {ROUNDS} interleaved rounds, "
          f"{'null milter' if NULL_MILTER else 'schoolgate'} on {'a Unix socket' if unix else 'loopback TCP'}")
    print(f"{'':16}{'msg/s':>10}{'median ms':>12}{'p99 ms':>10}   (median of the rounds; each round's msg/s)")
    summary = {}
    for name, results in rounds.items():
        summary[name] = {key: statistics.median(r[key] for r in results) for key in ("rate", "median_ms", "p99_ms")}
        r = summary[name]
        each = " ".join(f"{x['rate']:.0f}" for x in results)
        idle = statistics.median(x["idle"] for x in results)
        print(f"{name:16}{r['rate']:>10.1f}{r['median_ms']:>12.2f}{r['p99_ms']:>10.2f}   ({each}; machine {100 * idle:.0f} % idle)")
    without = summary["without"]
    for name, path in binaries:
        with_milter = summary[name]
        label = f"{name} ({path})" if len(binaries) > 1 else "the milter"
        print(f"{label}:")
        user, system, faults = (x / (n * ROUNDS) for x in milter_usage[name])
        print(f"  its own CPU: {1000 * (user + system):.2f} ms a message ({1000 * system:.2f} of it in the kernel), "
              f"{faults:.1f} page faults a message")
        print(f"  throughput cost: {100 * (1 - with_milter['rate'] / without['rate']):.1f} %")
        # Round by round: each "with" round against the "without" round run just after it.
        paired = [100 * (1 - w["rate"] / o["rate"]) for w, o in zip(rounds[name], rounds["without"])]
        print(f"  round by round: median {statistics.median(paired):.1f} %, mean {statistics.mean(paired):.1f} % "
              f"({' '.join(f'{x:.1f}' for x in paired)})")
        print(f"  added latency: median {with_milter['median_ms'] - without['median_ms']:.2f} ms, "
              f"p99 {with_milter['p99_ms'] - without['p99_ms']:.2f} ms")
    if "null milter" in rounds and "with milter" in rounds:
        # What schoolgate costs beyond any milter: its cost less the null milter's, round by round.
        beyond = [100 * (null["rate"] - w["rate"]) / o["rate"]
                  for w, null, o in zip(rounds["with milter"], rounds["null milter"], rounds["without"])]
        print(f"schoolgate beyond any milter: median {statistics.median(beyond):.1f} points, "
              f"mean {statistics.mean(beyond):.1f} ({' '.join(f'{x:.1f}' for x in beyond)})")


def start_milter(name, binary, unix, tmp, log):
    """Start one milter (schoolgate `binary`, or the null milter) on a socket
    of its own; (process, the smtpd_milters value that reaches it)."""
    tag = name.replace(" ", "-")
    if unix:
        socket_path = f"/var/spool/postfix/schoolgate-load/{tag}.sock"
        os.makedirs(os.path.dirname(socket_path), exist_ok=True)
        if os.path.exists(socket_path):
            os.unlink(socket_path)
        listen = f"unix:{socket_path}"
    else:
        port = free_port()
        listen = f"inet:127.0.0.1:{port}"
    config = os.path.join(tmp, f"{tag}.toml")
    with open(os.path.join(ROOT, "fixtures/schoolgate.toml")) as f:
        base = f.read()
    with open(config, "w") as f:
        f.write(base + os.environ.get("SCHOOLGATE_LOAD_EXTRA_TOML", "") + f'\n[milter]\nlisten = "{listen}"\nworkers = {os.environ.get("SCHOOLGATE_LOAD_WORKERS", "2")}\n[quarantine]\npath = "{tmp}/{tag}.sqlite"\n[relay]\nreinject = "127.0.0.1:10026"\n')
    command = [binary, "--config", config, "serve"]
    if NULL_MILTER or binary == NULL_MILTER_BINARY:
        command = [NULL_MILTER_BINARY, listen]
    # SCHOOLGATE_LOAD_NICE=-5: the milter at the unit's priority (see the top).
    nice = os.environ.get("SCHOOLGATE_LOAD_NICE", "0")
    command = ["nice", "-n", nice, *command]
    if os.environ.get("SCHOOLGATE_LOAD_CPUS"):
        command = ["taskset", "-c", os.environ["SCHOOLGATE_LOAD_CPUS"], *command]
    process = subprocess.Popen(
        command,
        stderr=log,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
        preexec_fn=None if os.environ.get("SCHOOLGATE_LOAD_SHARED_GROUP") else lambda: own_scheduling_group(nice),
    )
    if unix:
        for _ in range(200):
            if os.path.exists(socket_path):
                break
            time.sleep(0.1)
        os.chmod(socket_path, 0o666)
    else:
        assert wait_port(port), "milter did not start"
    return process, listen


def own_scheduling_group(nice):
    """In the milter's child before exec: a session of its own, as systemd
    starts a service, and so its own autogroup, weighted like `nice` against
    Postfix's (what the unit's CPUWeight= does with cgroups). Without
    autogroups each process is scheduled alone and the nice value is enough."""
    os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(nice)
    except OSError:
        pass


if __name__ == "__main__":
    main()
