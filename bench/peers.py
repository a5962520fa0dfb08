#!/usr/bin/env python3
"""libmigrate's `migrate` tool side by side with goose on PostgreSQL.

    bench/peers.py --migrate PATH --goose PATH --pg URL [--versions N] [--rounds R]

Prints two tables, medians of R rounds (default 5), each round on fresh
databases, the tools alternating:

1. applying N trivial versions (default 500) from empty, each creating one
   table: whole-process wall time, the transactions the server committed
   per version (pg_stat_database), and the statements libmigrate sent per
   version (its -v log);
2. checking 1,000 applied versions: `migrate check` (every checksum
   compared), `goose version` (reads the version only) and `goose status`
   (lists every file).

The ratio column is libmigrate's time over goose's (below 1: faster): the
median of the rounds' own ratios, and their range (each round runs both
tools seconds apart, taking turns at going first).
scripts/bench-peers.sh starts a private PostgreSQL and installs goose; with
--durable the server keeps a production server's durability (fsync and
synchronous_commit on), where each commit waits for the disk.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse


def psql(url, sql):
    subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.PIPE, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def query(url, sql):
    return subprocess.run(["psql", "-qAtX", url, "-c", sql], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def db_url(base, name):
    p = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def fresh_db(base, name):
    psql(base, "DROP DATABASE IF EXISTS %s" % name)
    psql(base, "CREATE DATABASE %s" % name)
    return db_url(base, name)


def xact_count(url):
    """Transactions the server committed in this database so far."""
    return int(query(url, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))


def write_plan(path, n):
    versions = [{"id": i, "name": "table %d" % i,
                 "steps": [{"op": "create_table", "table": "t%d" % i,
                            "columns": [{"name": "id", "type": "bigint"}], "primary_key": ["id"]}]}
                for i in range(1, n + 1)]
    with open(path, "w") as f:
        json.dump({"plan": "peers", "versions": versions}, f)


def write_goose_dir(path, n):
    os.makedirs(path, exist_ok=True)
    for i in range(1, n + 1):
        with open(os.path.join(path, "%05d_table_%d.sql" % (i, i)), "w") as f:
            f.write("-- +goose Up\nCREATE TABLE t%d (id bigint PRIMARY KEY);\n"
                    "-- +goose Down\nDROP TABLE t%d;\n" % (i, i))


def timed(argv, env=None):
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    took = (time.perf_counter() - t0) * 1000
    return took, r


def must(r, what):
    if r.returncode != 0:
        out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode()
        err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode()
        sys.exit("%s failed (%d): %s %s" % (what, r.returncode, out[-500:], err[-500:]))


def statements_per_version(migrate, url, plan, n):
    """The tool's -v log names every statement libmigrate sends."""
    r = subprocess.run([migrate, "-v", "-u", url, "--plan", plan, "up"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    must(r, "migrate -v up")
    sent = [l for l in r.stderr.splitlines() if l.startswith("migrate: debug: postgres: ")]
    return len(sent) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--migrate", required=True)
    ap.add_argument("--goose", required=True)
    ap.add_argument("--pg", required=True)
    ap.add_argument("--versions", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench_peers.")
    plan, gdir = os.path.join(work, "plan.json"), os.path.join(work, "goose")
    plan1k, gdir1k = os.path.join(work, "plan1k.json"), os.path.join(work, "goose1k")
    write_plan(plan, a.versions)
    write_goose_dir(gdir, a.versions)
    write_plan(plan1k, 1000)
    write_goose_dir(gdir1k, 1000)
    env = dict(os.environ, GOOSE_NO_COLOR="true")

    mig_up, goose_up, mig_tx, goose_tx = [], [], [], []

    def run_migrate():
        url = fresh_db(a.pg, "peers_migrate")
        before = xact_count(url)
        took, r = timed([a.migrate, "-q", "-u", url, "--plan", plan, "up"])
        must(r, "migrate up")
        mig_up.append(took)
        mig_tx.append(xact_count(url) - before)

    def run_goose():
        url = fresh_db(a.pg, "peers_goose")
        before = xact_count(url)
        took, r = timed([a.goose, "-dir", gdir, "postgres", url, "up"], env)
        must(r, "goose up")
        goose_up.append(took)
        goose_tx.append(xact_count(url) - before)

    # The tools take turns going first; each round's own ratio compares two
    # runs seconds apart (the host's slow phases last minutes).
    for i in range(a.rounds):
        for run in ((run_migrate, run_goose) if i % 2 == 0 else (run_goose, run_migrate)):
            run()
    ratios = sorted(m / g for m, g in zip(mig_up, goose_up))
    per_version = statements_per_version(a.migrate, fresh_db(a.pg, "peers_count"), plan, a.versions)

    # 1,000 applied versions for the checks.
    murl, gurl = fresh_db(a.pg, "peers_migrate1k"), fresh_db(a.pg, "peers_goose1k")
    must(subprocess.run([a.migrate, "-q", "-u", murl, "--plan", plan1k, "up"], capture_output=True), "migrate up")
    must(subprocess.run([a.goose, "-dir", gdir1k, "postgres", gurl, "up"], capture_output=True, env=env), "goose up")
    checks = {"migrate check": [], "goose version": [], "goose status": []}
    for _ in range(max(a.rounds, 11)):
        checks["migrate check"].append(timed([a.migrate, "-u", murl, "--plan", plan1k, "check"])[0])
        checks["goose version"].append(timed([a.goose, "-dir", gdir1k, "postgres", gurl, "version"], env)[0])
        checks["goose status"].append(timed([a.goose, "-dir", gdir1k, "postgres", gurl, "status"], env)[0])

    m, g = statistics.median(mig_up), statistics.median(goose_up)
    print("# migrate and goose on PostgreSQL\n")
    fsync, sync = query(a.pg, "SHOW fsync"), query(a.pg, "SHOW synchronous_commit")
    print("Server: PostgreSQL %s, fsync=%s, synchronous_commit=%s (%s).\n" % (
        query(a.pg, "SHOW server_version"), fsync, sync,
        "a production server's durability: every commit waits for its WAL on disk"
        if fsync == "on" and sync != "off" else "commits do not wait for the disk, as on a throwaway test server"))
    print("## Applying %d trivial versions from empty (median of %d)\n" % (a.versions, a.rounds))
    print("| tool | wall s | versions/s | server transactions per version | ratio to goose (range) |")
    print("|---|---:|---:|---:|---:|")
    print("| libmigrate `migrate up` | %.3f | %.0f | %.2f | %.2f (%.2f-%.2f) |" % (
        m / 1000, a.versions / (m / 1000), statistics.median(mig_tx) / a.versions, statistics.median(ratios),
        ratios[0], ratios[-1]))
    print("| goose `up` | %.3f | %.0f | %.2f | 1.00 |" % (
        g / 1000, a.versions / (g / 1000), statistics.median(goose_tx) / a.versions))
    print("\nlibmigrate sent %.2f statements per version (its -v log).\n" % per_version)
    print("## Checking 1,000 applied versions (whole process, median of %d)\n" % max(a.rounds, 11))
    print("| command | wall ms | compares |")
    print("|---|---:|---|")
    what = {"migrate check": "every version's checksum", "goose version": "nothing (reads the version)",
            "goose status": "lists every file"}
    for k, v in checks.items():
        print("| %s | %.1f | %s |" % (k, statistics.median(v), what[k]))
    print()


if __name__ == "__main__":
    main()
