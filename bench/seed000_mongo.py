#!/usr/bin/env python3
"""Seed 000 (sessions -> jobs) on MongoDB at realistic sizes, side by side.

    bench/seed000_mongo.py MIGRATE URL N [N ...] [--script-max N]

MIGRATE is the built `migrate` tool, URL a mongodb://host:port of a running
server (FerretDB's SQLite or PostgreSQL backend). For each N it fills a
fresh database with N `sessions` documents in the seed's shape (all seven
legacy statuses; tool_ids missing, null, empty or full), then runs:

  - libmigrate: `migrate up` of examples/plans/000_sessions_to_jobs.mongo.json,
    checked against the expected statuses and counter sums, then `down 0`;
  - the seed's own script, as its guide writes it (rename, createCollection,
    updateMany of the new fields, the status updateMany, the per-document
    counter loop, the indexes), only up to --script-max documents (default
    2000: each of its per-document updates costs the server a scan);

and prints one table row per run: seconds, documents/s, the ratio to the
script, and the peak resident memory of libmigrate's process.
"""
import os
import resource
import subprocess
import sys
import time

import pymongo

STATUSES = ["pending", "planning", "searching", "implementing", "executing", "completed", "failed"]


def fill(db, n):
    db.client.drop_database(db.name)
    docs = []
    for i in range(n):
        d = {"session_id": "s%07d" % i, "job_id": "job_%07d" % i, "user_id": "u%d" % (i % 97),
             "status": STATUSES[i % 7], "created_at": i}
        r = i % 5
        if r == 1:
            d["tool_ids"] = None
        elif r == 2:
            d["tool_ids"] = []
        elif r >= 3:
            d["tool_ids"] = ["t%d" % j for j in range(1 + i % 4)]
        if i % 3:
            d["tool_failure_ids"] = ["f%d" % j for j in range(i % 3)]
        docs.append(d)
        if len(docs) == 5000:
            db.sessions.insert_many(docs)
            docs = []
    if docs:
        db.sessions.insert_many(docs)


def expected(n):
    processing = sum(1 for i in range(n) if i % 7 < 5)
    done = sum((1 + i % 4) if i % 5 >= 3 else 0 for i in range(n))
    failed = sum(i % 3 for i in range(n))
    return processing, done, failed


def verify(db, n, what):
    processing, done, failed = expected(n)
    got = db.jobs.count_documents({"status": "processing"})
    c = f = 0
    for j in db.jobs.find({}, {"tools_completed": 1, "tools_failed": 1}):
        c += j["tools_completed"]
        f += j["tools_failed"]
    assert db.jobs.count_documents({}) == n, what + ": job count"
    assert got == processing, "%s: %d processing, expected %d" % (what, got, processing)
    assert (c, f) == (done, failed), "%s: counters %d/%d, expected %d/%d" % (what, c, f, done, failed)
    assert len(db.jobs.index_information()) == 6, what + ": indexes"


def run_migrate(tool, url, *args):
    t0 = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([tool, "--url", url, "--plan", PLAN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("migrate %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return time.time() - t0, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def seed_script(db):
    """Section 2 to 4 of the seed, as written."""
    db.sessions.rename("jobs")
    db.create_collection("sessions")
    db.jobs.update_many({}, {"$set": {"session_ids": [], "tools_completed": 0, "tools_failed": 0,
                                      "tools_in_progress": 0}})
    db.jobs.update_many({"status": {"$in": STATUSES[:5]}}, {"$set": {"status": "processing"}})
    for job in db.jobs.find():
        db.jobs.update_one({"_id": job["_id"]}, {"$set": {
            "tools_completed": len(job["tool_ids"]) if job.get("tool_ids") else 0,
            "tools_failed": len(job["tool_failure_ids"]) if job.get("tool_failure_ids") else 0,
            "tools_in_progress": 0}})
    db.jobs.create_index("job_id", unique=True)
    for k in ["user_id", "status", [("user_id", 1), ("status", 1)], "created_at"]:
        db.jobs.create_index(k)
    db.sessions.create_index("session_id", unique=True)


PLAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "plans",
                    "000_sessions_to_jobs.mongo.json")


def main():
    args = sys.argv[1:]
    script_max = 2000
    if "--script-max" in args:
        i = args.index("--script-max")
        script_max = int(args[i + 1])
        del args[i:i + 2]
    tool, url, sizes = args[0], args[1].rstrip("/"), [int(a) for a in args[2:]]
    client = pymongo.MongoClient(url)
    server = client.admin.command("buildInfo")
    print("server: %s" % server.get("ferretdbVersion", "MongoDB " + server.get("version", "?")))
    print("| documents | run | up s | docs/s | vs script | down 0 s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        db = client["bench_seed000"]
        script_s = None
        if n <= script_max:
            fill(db, n)
            t0 = time.time()
            seed_script(db)
            script_s = time.time() - t0
            verify(db, n, "script")
            print("| %d | seed script | %.1f | %.0f | 1.00x | | |" % (n, script_s, n / script_s))
        fill(db, n)
        up_s, rss = run_migrate(tool, url + "/bench_seed000", "up")
        verify(db, n, "libmigrate")
        down_s, rss = run_migrate(tool, url + "/bench_seed000", "down", "0")
        restored = db.sessions.count_documents({})
        assert restored == n, "down: %d sessions back" % restored
        ratio = "%.2fx" % (script_s / up_s) if script_s else "-"
        print("| %d | libmigrate | %.1f | %.0f | %s | %.1f | %.1f |" % (n, up_s, n / up_s, ratio, down_s,
                                                                       rss / 1024.0))
        sys.stdout.flush()
        client.drop_database("bench_seed000")


if __name__ == "__main__":
    main()
