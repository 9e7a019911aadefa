"""Fault campaign on the target without AWS: `pictor-worker` processes fed by NATS JetStream,
originals and renditions on SeaweedFS (an S3-compatible server, versioned bucket) through the
fault-injecting proxy, records in PostgreSQL. Workers are killed at random and restarted, and
the broker and the database are restarted under them, while the traffic of the AWS campaign
(uploads, overwrites, deletes of every kind, restores) is published in S3's event format, some
of it twice and out of order. Then the same invariants: every upload converged to the bucket.

Run through `scripts/fault-campaign --target worker`, which builds the binaries and starts
the three servers.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.parse

import boto3
import nats
import psycopg

from fault_campaign import (COUNTS, add_campaign_arguments, check, conclude, dead_letter_figures, log, make_proxy,
                            traffic, wait_quiet, without_sequencer)

MAX_DELIVERIES = 4
ACK_WAIT_SECONDS = 3
SPEC = "[[variants]]\nname = 'sm'\nwidth = 96\nformat = 'jpeg'\n\n[[variants]]\nname = 'md'\nwidth = 200\nformat = 'webp'\n"


class Broker:
    """A NATS client on an event loop of its own, so the campaign's threads can call it."""

    def __init__(self, url):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.nc = self.call(nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                         error_cb=self.on_error))
        self.js = self.nc.jetstream()

    @staticmethod
    async def on_error(_e):
        # The broker's restarts: counted, not printed.
        COUNTS.add("broker-client-errors")

    def call(self, coro, timeout=60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def publish(self, subject, body):
        """Until the broker has it, as a store's notification queue retries. A publish whose
        answer was lost may be kept twice: a duplicate, which is fine."""
        while True:
            try:
                self.call(self.js.publish(subject, body.encode(), timeout=5), timeout=10)
                return
            except Exception:
                COUNTS.add("publish-retries")
                time.sleep(0.5)

    def waiting(self, stream, consumer):
        """Notifications not yet handled for good (waiting, in hand, or handed back), or None
        while the broker cannot say."""
        try:
            info = self.call(self.js.consumer_info(stream, consumer), timeout=10)
        except Exception:
            return None
        return info.num_pending + info.num_ack_pending

    def take_all(self, stream):
        """Every message kept on `stream`, which is then emptied."""
        info = self.call(self.js.stream_info(stream))
        bodies = []
        if info.state.messages:
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    bodies.append(self.call(self.js.get_msg(stream, seq)).data.decode())
                except nats.js.errors.NotFoundError:
                    pass
        self.call(self.js.purge_stream(stream))
        return bodies


class Workers:
    """`pictor-worker` processes, each restarted when it dies, as a Deployment's pods are."""

    def __init__(self, binary, env, count, logs):
        self.binary, self.env, self.logs = binary, env, logs
        self.lock = threading.Lock()
        self.running = True
        self.procs = [self.start(n) for n in range(count)]
        threading.Thread(target=self.supervise, daemon=True).start()

    def start(self, n):
        log_file = open(os.path.join(self.logs, f"worker-{n}.log"), "ab")
        return subprocess.Popen([self.binary], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=log_file, stderr=log_file)

    def supervise(self):
        while self.running:
            time.sleep(0.2)
            with self.lock:
                for n, proc in enumerate(self.procs):
                    if self.running and proc.poll() is not None:
                        COUNTS.add("worker-restarts")
                        self.procs[n] = self.start(n)

    def kill_one(self, rng):
        with self.lock:
            rng.choice(self.procs).kill()
        COUNTS.add("kill:worker")

    def stop(self):
        with self.lock:
            self.running = False
            for proc in self.procs:
                proc.send_signal(signal.SIGTERM)
            codes = [proc.wait(timeout=60) for proc in self.procs]
        # -SIGTERM: one restarted a moment ago, stopped before it could take the signal.
        if any(code not in (0, -signal.SIGTERM) for code in codes):
            raise SystemExit(f"campaign: a worker ended with {codes}; see {self.logs}")

    def logged(self, words):
        """Lines of the workers' logs that hold `words`."""
        n = 0
        for name in os.listdir(self.logs):
            if name.startswith("worker-"):
                with open(os.path.join(self.logs, name), errors="replace") as f:
                    n += sum(words in line for line in f)
        return n


def all_records(db_url):
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT record FROM assets").fetchall()
    records = {}
    for (text,) in rows:
        record = json.loads(text)
        records[record["id"]] = record
    return records


def fresh_database(server_url, name):
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def wait_drained(broker, stream, consumer, limit):
    """Until nothing is waiting or in hand three seconds running."""
    return wait_quiet(lambda: broker.waiting(stream, consumer), limit, "notifications")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--s3", required=True, help="the S3-compatible server's endpoint")
    p.add_argument("--nats", required=True, help="the NATS server's URL")
    p.add_argument("--postgres", required=True, help="the PostgreSQL server's URL")
    p.add_argument("--bin", required=True, help="folder with pictor-worker and pictor")
    p.add_argument("--run", required=True, help="a name for this run's buckets, database, subjects")
    p.add_argument("--restart-share", type=float, default=0.2,
                   help="the share of kills that restart the broker or the database instead")
    add_campaign_arguments(p, "worker processes at once")
    args = p.parse_args()
    rng = random.Random(args.seed)
    here = os.path.dirname(os.path.abspath(__file__))

    s3 = boto3.client("s3", endpoint_url=args.s3, region_name="us-east-1",
                      aws_access_key_id="any", aws_secret_access_key="any")
    run = args.run.lower()
    uploads, output = f"{run}-up", f"{run}-out"
    for bucket in (uploads, output):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=uploads, VersioningConfiguration={"Status": "Enabled"})
    db = fresh_database(args.postgres, run.replace("-", "_"))
    prefix = run.replace("-", "_")
    stream, consumer = f"{prefix.upper()}_UPLOADS", f"{prefix}-ingest"
    subject, dead_stream = f"{prefix}.uploads", f"{prefix.upper()}_UPLOADS_DEAD"
    photos = [open(f, "rb").read() for f in args.photos]

    fault_rate = [args.faults]
    proxy = make_proxy(urllib.parse.urlsplit(args.s3).port, fault_rate, args.seed)
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.server_address[1]}",
               AWS_ACCESS_KEY_ID="any", AWS_SECRET_ACCESS_KEY="any",
               PICTOR_NATS_URL=args.nats, PICTOR_NATS_PREFIX=prefix, PICTOR_DB=db,
               PICTOR_OUTPUT_BUCKET=output, PICTOR_UPLOAD_PREFIX="uploads/", PICTOR_SPEC=SPEC,
               PICTOR_ENCODE_THREADS="1", PICTOR_IN_FLIGHT="2",
               PICTOR_MAX_DELIVERIES=str(MAX_DELIVERIES),
               PICTOR_ACK_WAIT_SECONDS=str(ACK_WAIT_SECONDS), RUST_LOG="warn")
    workers = Workers(os.path.join(args.bin, "pictor-worker"), env, args.concurrency, args.logs)
    broker = Broker(args.nats)
    # The workers make the streams; notifications are published once they exist.
    deadline = time.time() + 60
    while broker.waiting(stream, consumer) is None:
        if time.time() > deadline:
            raise SystemExit(f"campaign: the workers made no consumer; see {args.logs}")
        time.sleep(0.5)

    storm_on = threading.Event()
    storm_on.set()

    def storm():
        srng = random.Random(args.seed + 1)
        while storm_on.is_set():
            time.sleep(srng.uniform(0.5, 1.5) * args.kill_every)
            if not storm_on.is_set():
                return
            if srng.random() >= args.restart_share:
                workers.kill_one(srng)
                continue
            server = srng.choice(["nats", "postgres"])
            subprocess.run([os.path.join(here, f"local-{server}"), "restart"], check=True,
                           stdout=subprocess.DEVNULL)
            COUNTS.add(f"restart:{server}")

    # Published in small shuffled windows, some twice, some of the repeats without their
    # place in the order: what a store's notification queue does on a bad day.
    window, repeats = [], []

    def flush():
        rng.shuffle(window)
        for body in window:
            broker.publish(subject, body)
        window.clear()

    def notify(_kind, body):
        window.append(body)
        if rng.random() < args.duplicates:
            repeats.append(body if rng.random() < 0.5 else without_sequencer(body))
        if len(window) >= 4:
            flush()

    started = time.time()
    storm_thread = threading.Thread(target=storm, daemon=True)
    if args.kill_every > 0:
        storm_thread.start()
    traffic(args, s3, uploads, notify, photos, rng)
    flush()
    rng.shuffle(repeats)
    for body in repeats:
        broker.publish(subject, body)
    COUNTS.add("traffic:repeats", len(repeats))
    log(f"traffic sent in {time.time() - started:.1f} s; draining")
    drain_limit = 600 + 2 * (args.uploads + args.overwrites)
    wait_drained(broker, stream, consumer, drain_limit)
    storm_on.clear()
    if storm_thread.is_alive():
        # A restart it began finishes before the checks read the database.
        storm_thread.join()
    elapsed = time.time() - started
    log(f"drained in {elapsed:.1f} s; checking, then redriving the dead letters")

    under_faults = check(s3, all_records(db), uploads, output, strict=False)
    records = all_records(db)
    dead_bodies = broker.take_all(dead_stream)
    dead = dead_letter_figures(dead_bodies, records, uploads)
    fault_rate[0] = 0.0
    for body in dead_bodies:
        broker.publish(subject, body)
    log(f"{dead['dead_letters']} dead letters redriven, faults off")
    wait_drained(broker, stream, consumer, drain_limit)
    workers.stop()

    figures = {
        "target": "pictor-worker: NATS JetStream, PostgreSQL, SeaweedFS",
        "scale": {k: getattr(args, k) for k in ("uploads", "overwrites", "deletes", "faults",
                                                  "kill_every", "restart_share", "duplicates",
                                                  "concurrency", "seed")},
        "seconds_under_faults": round(elapsed, 1),
        "counts": COUNTS.snapshot(),
        "handed_back_by_workers": workers.logged("handed back for a later delivery"),
        "dead_lettered_by_workers": workers.logged("dead-lettered"),
    }
    reconcile = [os.path.join(args.bin, "pictor"), "reconcile", "--db", db, "--bucket", uploads,
                 "--output-bucket", output, "--grace", "0s"]
    conclude(args, figures, started,
             lambda strict: check(s3, all_records(db), uploads, output, strict),
             lambda: all_records(db), uploads, under_faults, dead,
             reconcile, dict(env, AWS_ENDPOINT_URL=args.s3))


if __name__ == "__main__":
    main()
