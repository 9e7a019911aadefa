"""Fault campaign: the real function binaries against the local S3/SQS/DynamoDB server, with a
fault-injecting proxy in between, processes killed at random, and traffic that overwrites,
deletes, restores and repeats. Then the invariants: every upload converged to the bucket.

Run through `scripts/fault-campaign`, which builds the binaries and starts the local server.

Pieces, each a thread in this process:
- FaultProxy: the functions' AWS endpoint. Forwards to the server, but fails a set fraction of
  requests per operation: 500 InternalError, 503 SlowDown, throttling, a stalled response
  that ends in a reset, or a reset straight away.
- Host: one Lambda execution environment, a process of `lambda_host` (shared/aws/examples):
  the Rust Runtime API emulator the function's binary polls, a supervisor that restarts the
  binary when the kill storm SIGKILLs it, and Lambda's SQS event source: batches received
  under a short visibility timeout, handed to the function, deleted when they succeeded;
  failed and unanswered messages come back, and go to the dead-letter queue after
  `MAX_RECEIVES`. Some messages are sent again later: duplicates, out of order.
"""

import argparse
import hashlib
import http.client
import http.server
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import boto3

REGION = "us-east-1"
MAX_RECEIVES = 4
VISIBILITY_SECONDS = 3
FUNCTION_TIMEOUT_SECONDS = 20
SPEC = "[[variants]]\nname = 'sm'\nwidth = 96\nformat = 'jpeg'\n\n[[variants]]\nname = 'md'\nwidth = 200\nformat = 'webp'\n"


def log(*parts):
    print("campaign:", *parts, file=sys.stderr, flush=True)


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = {}

    def add(self, name, n=1):
        with self.lock:
            self.values[name] = self.values.get(name, 0) + n

    def snapshot(self):
        with self.lock:
            return dict(sorted(self.values.items()))


COUNTS = Counters()


# --- the fault-injecting proxy ------------------------------------------------------------


def operation_of(method, path, headers):
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]  # DynamoDB_20120810.PutItem -> PutItem
    parts = urllib.parse.urlsplit(path)
    has_key = parts.path.count("/") >= 2 and not parts.path.endswith("/")
    if method == "GET" and not has_key:
        return "ListObjects"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject",
            "DELETE": "DeleteObject"}.get(method, method)


FAULTS = ["500", "503-slowdown", "throttle", "stall-reset", "reset"]


def make_proxy(upstream_port, fault_rate, rng_seed):
    """`fault_rate` is a one-element list, so the campaign can turn faults off later."""
    rng = random.Random(rng_seed)
    rng_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            op = operation_of(self.command, self.path, self.headers)
            with rng_lock:
                fault = rng.choice(FAULTS) if rng.random() < fault_rate[0] else None
            COUNTS.add("requests")
            if fault:
                COUNTS.add(f"fault:{fault}")
                COUNTS.add(f"fault-op:{op}")
                return self.fail(fault, op)
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = f"127.0.0.1:{upstream_port}"
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        def fail(self, fault, op):
            if fault in ("reset", "stall-reset"):
                if fault == "stall-reset":
                    time.sleep(2.5)
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            dynamo = "X-Amz-Target" in self.headers
            if fault == "500":
                status, code = 500, "InternalError"
            elif fault == "503-slowdown" or not dynamo:
                status, code = 503, "SlowDown"
            else:
                status, code = 400, "ThrottlingException"
            if dynamo:
                data = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                                   "message": "injected"}).encode()
                ctype = "application/x-amz-json-1.0"
            else:
                data = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                        f"<Message>injected {op}</Message></Error>").encode()
                ctype = "application/xml"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("x-amzn-ErrorType", code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = quiet_server(Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def quiet_server(handler):
    """A threading HTTP server on a free port that counts, rather than prints, requests whose
    client went away (a killed function)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.handle_error = lambda request, address: COUNTS.add("connections-dropped")
    return server


# --- Lambda: one execution environment per function instance -------------------------------


class Host:
    """One execution environment: `lambda_host` (shared/aws/examples/lambda_host.rs) runs the
    function's binary against the Rust Runtime API emulator, restarts it when it dies, and feeds
    it from its queue as Lambda's event source mapping does, sending some notifications again.
    SIGUSR1 kills the function; SIGTERM stops the host, which prints its counts. Its standard
    input is a pipe from here: if this process dies, the host stops too."""

    def __init__(self, name, n, host_bin, binary, queue_url, endpoint, env, logs, duplicates, seed):
        self.label = f"{name}-{n}"
        self.proc = subprocess.Popen(
            [host_bin, "--binary", binary, "--queue-url", queue_url, "--sqs-endpoint", endpoint,
             "--name", name, "--log", os.path.join(logs, f"{self.label}.log"),
             "--visibility", str(VISIBILITY_SECONDS), "--timeout", str(FUNCTION_TIMEOUT_SECONDS),
             "--duplicates", str(duplicates), "--seed", str(seed)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(logs, f"{self.label}.host.log"), "ab"), text=True)
        # Signals are handled once it says so.
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"campaign: {self.label}'s host did not start; see {logs}")

    def kill_function(self):
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise SystemExit(f"campaign: {self.label}'s host ended with {self.proc.returncode}")
        for name, n in json.loads(out).items():
            COUNTS.add(name, n)


# --- traffic --------------------------------------------------------------------------------


SEQUENCER = itertools.count(0x0055AED6DCD9028000)


def notification(name, bucket, key, version, size=None, etag=None):
    """What S3 sends for one event: eventVersion 2.x, the version id in a versioned bucket, and
    a sequencer that grows with every event on the key (here: with every event at all)."""
    obj = {"key": urllib.parse.quote_plus(key), "versionId": version,
           "sequencer": f"{next(SEQUENCER):018X}"}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag.strip('"')
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": name, "userIdentity": {"principalId": "AWS:CAMPAIGN"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "campaign",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj}}]})


def without_sequencer(body):
    """A replay that lost its place in the order (a message copied by hand, a re-sent batch)."""
    event = json.loads(body)
    for record in event.get("Records", []):
        record.get("s3", {}).get("object", {}).pop("sequencer", None)
    return json.dumps(event)


def traffic(args, s3, bucket, notify, photos, rng):
    """Uploads, overwrites (new and identical bytes), deletes of every kind, restores, each
    followed by the notification S3 sends for it (the local server's own lack the sequencer and
    the version id, and it sends none for delete markers, so its notifications are turned off).
    Versions are tracked from the answers (the local server's ListObjectVersions holds on to
    memory with every call). `notify(kind, body)` sends one: kind is "created" or "removed"."""
    keys = [f"uploads/creator{n % 7}/photo-{n}.jpg" for n in range(args.uploads)]
    current = {}
    versions = {}  # key -> version ids of real writes still in the bucket, oldest first

    def put(key, data):
        out = s3.put_object(Bucket=bucket, Key=key, Body=data)
        versions.setdefault(key, []).append(out["VersionId"])
        current[key] = data
        notify("created", notification(
            "ObjectCreated:Put", bucket, key, out["VersionId"], len(data), out["ETag"]))
        COUNTS.add("traffic:puts")

    def remove_version(key, version):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
        versions[key].remove(version)
        notify("removed", notification("ObjectRemoved:Delete", bucket, key, version))

    for key in keys:
        put(key, rng.choice(photos))
        if rng.random() < 0.05:
            # Deleted for good before its ingest could have run: the race of case 1.
            for version in list(versions[key]):
                remove_version(key, version)
            current.pop(key, None)
            COUNTS.add("traffic:racing-deletes")
    for _ in range(args.overwrites):
        key = rng.choice(keys)
        if key not in current:
            continue
        same = rng.random() < 0.3
        put(key, current[key] if same else rng.choice(photos))
        COUNTS.add("traffic:overwrites-same" if same else "traffic:overwrites-new")
    live = [k for k in keys if k in current]
    rng.shuffle(live)
    markers = []
    for key in live[: args.deletes]:
        kind = rng.choice(["marker", "current-version", "noncurrent-version"])
        if kind == "noncurrent-version" and len(versions[key]) < 2:
            kind = "current-version"
        if kind == "noncurrent-version":
            remove_version(key, rng.choice(versions[key][:-1]))
        elif kind == "current-version":
            remove_version(key, versions[key][-1])
        else:
            out = s3.delete_object(Bucket=bucket, Key=key)
            markers.append((key, out["VersionId"]))
            notify("removed", notification(
                "ObjectRemoved:DeleteMarkerCreated", bucket, key, out["VersionId"]))
        COUNTS.add(f"traffic:delete-{kind}")
    # Restores: the delete marker removed, the object is back.
    for key, marker in markers[: max(1, len(markers) // 4)]:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=marker)
        notify("removed", notification("ObjectRemoved:Delete", bucket, key, marker))
        COUNTS.add("traffic:restores")


# --- invariants -----------------------------------------------------------------------------


def asset_id(bucket, key):
    return hashlib.sha256(f"s3://{bucket}/{key}".encode()).hexdigest()[:32]


def all_records(dynamodb, table):
    records, start = {}, None
    while True:
        kw = {"TableName": table}
        if start:
            kw["ExclusiveStartKey"] = start
        page = dynamodb.scan(**kw)
        for item in page["Items"]:
            record = json.loads(item["record"]["S"])
            records[record["id"]] = record
        start = page.get("LastEvaluatedKey")
        if not start:
            return records


def list_keys(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def check(s3, records, bucket, out, strict):
    """The bucket against the records (by asset id) and the renditions. `strict`: every present
    key's record describes its current bytes; otherwise a FAILED `transient` record (the upload
    could not be read, its message is in a dead-letter queue) also counts as a record with a
    reason."""
    present = {}
    for key in list_keys(s3, bucket, "uploads/"):
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        present[asset_id(bucket, key)] = (key, hashlib.sha256(data).hexdigest())
    lost, wrong, not_deleted, transient = [], [], [], 0
    for aid, (key, sha) in present.items():
        r = records.get(aid)
        if r is None:
            lost.append(key)
            continue
        is_transient = r["status"] == "failed" and (r.get("error") or {}).get("kind") == "transient"
        transient += is_transient
        if r["status"] not in ("ready", "failed") or (
                r.get("sha256") != sha and (strict or not is_transient)):
            wrong.append((key, r["status"], r.get("error")))
    for aid, r in records.items():
        if aid not in present and (r["status"] != "deleted" or r.get("variants")):
            not_deleted.append((r["source"], r["status"]))
    referenced = {v["key"] for r in records.values() for v in r.get("variants", [])}
    stored = set(list_keys(s3, out, "renditions/"))
    by_status = {}
    for r in records.values():
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    return {
        "uploads_present": len(present),
        "records": by_status,
        "failed_transient": transient,
        "lost": len(lost),
        "wrong": len(wrong),
        "gone_but_not_deleted": len(not_deleted),
        "orphan_renditions": len(stored - referenced),
        "missing_renditions": len(referenced - stored),
        "examples": {"lost": lost[:5], "wrong": wrong[:5], "not_deleted": not_deleted[:5],
                     "missing": sorted(referenced - stored)[:5]},
    }


def dead_letter_figures(bodies, records, bucket):
    """Every dead letter must have a record of its upload."""
    without_record, failed, keys = [], 0, set()
    for body in bodies:
        for rec in json.loads(body).get("Records", []):
            key = urllib.parse.unquote_plus(rec["s3"]["object"]["key"])
            keys.add(key)
            r = records.get(asset_id(bucket, key))
            if r is None:
                without_record.append(key)
            elif r["status"] == "failed":
                failed += 1
    return {"dead_letters": len(bodies), "with_failed_record": failed,
            "without_record": len(without_record), "examples": without_record[:5],
            "keys": sorted(keys)}


def redrive(sqs, dynamodb, res):
    """The dead letters' figures; then each goes back to its queue, as an operator redrives
    after fixing the cause."""
    records = all_records(dynamodb, res["table"])
    bodies = []
    for dlq, source in res["dead_letters"]:
        while True:
            got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            msgs = got.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                bodies.append(m["Body"])
                sqs.send_message(QueueUrl=source, MessageBody=m["Body"])
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
    return dead_letter_figures(bodies, records, res["uploads_bucket"])


def unconverged(records, bucket, keys):
    """Redriven uploads whose record still says FAILED `transient`: a redrive must converge."""
    stuck = [k for k in keys
             if (r := records.get(asset_id(bucket, k))) is not None
             and r["status"] == "failed" and (r.get("error") or {}).get("kind") == "transient"]
    return stuck


def verdict(under_faults, dead, stuck, after_redrive, after_reconcile):
    """Exits with what broke, if anything did."""
    bad = {f"under faults: {k}": under_faults[k]
           for k in ("lost", "wrong", "gone_but_not_deleted", "missing_renditions")
           if under_faults[k]}
    if dead["without_record"]:
        bad["dead letters without a record"] = dead["without_record"]
    if stuck:
        bad["dead letters not converged by their redrive"] = stuck[:5]
    bad.update({f"after redrive: {k}": after_redrive[k]
                for k in ("lost", "wrong", "gone_but_not_deleted", "missing_renditions")
                if after_redrive[k]})
    bad.update({f"after reconcile: {k}": after_reconcile[k]
                for k in ("lost", "wrong", "gone_but_not_deleted", "orphan_renditions",
                          "missing_renditions") if after_reconcile[k]})
    if bad:
        raise SystemExit(f"campaign: invariants broken: {bad}")
    log("every invariant holds")


def conclude(args, figures, started, state, records, bucket, under_faults, dead, reconcile, env):
    """Once the redriven dead letters have drained: the checks after the redrive, one
    reconcile pass (`reconcile`, run with `env`), the checks after it; then the figures,
    printed (and written to --report), and the verdict. `state(strict)` checks the bucket
    against the records, `records()` reads them."""
    before = state(strict=True)
    stuck = unconverged(records(), bucket, dead.pop("keys"))
    dead["still_failed_transient_after_redrive"] = len(stuck)
    ran = subprocess.run(reconcile, env=env, capture_output=True, text=True)
    if ran.returncode != 0:
        raise SystemExit(f"campaign: reconcile failed: {ran.stderr}")
    after = state(strict=True)
    figures.update({
        "seconds_in_all": round(time.time() - started, 1),
        "under_faults": under_faults,
        "dead_letters": dead,
        "after_redrive": before,
        "reconcile": json.loads(ran.stdout),
        "after_reconcile": after,
    })
    print(json.dumps(figures, indent=2))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(figures, f, indent=2)
    verdict(under_faults, dead, stuck, before, after)


# --- the run --------------------------------------------------------------------------------


def wait_quiet(waiting, limit, what):
    """Until `waiting()` says 0 three seconds running (None: it cannot say just now)."""
    quiet, started = 0, time.time()
    while time.time() - started < limit:
        quiet = quiet + 1 if waiting() == 0 else 0
        if quiet >= 3:
            return time.time() - started
        time.sleep(1)
    raise SystemExit(f"campaign: {what} not drained after {limit} s")


def wait_drained(sqs, urls, limit):
    """Until the queues are empty three seconds running. A host sends its duplicates before it
    deletes what they repeat, so work in hand is always counted in a queue."""
    def waiting():
        counts = 0
        for url in urls:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            counts += sum(int(v) for v in attrs.values())
        return counts

    return wait_quiet(waiting, limit, "queues")


def add_campaign_arguments(p, concurrency_help):
    """What every target's campaign takes: the photos, the scale, the faults, the seed."""
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--uploads", type=int, default=30)
    p.add_argument("--overwrites", type=int, default=10)
    p.add_argument("--deletes", type=int, default=8)
    p.add_argument("--faults", type=float, default=0.1)
    p.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills (mean)")
    p.add_argument("--duplicates", type=float, default=0.1)
    p.add_argument("--concurrency", type=int, default=2, help=concurrency_help)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--logs", required=True)
    p.add_argument("--report", help="write the figures as JSON here")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--bin", required=True, help="folder with pictor-ingest, pictor-cleanup, pictor")
    p.add_argument("--names", required=True, nargs=4,
                   metavar=("UPLOADS", "OUTPUT", "TABLE", "QUEUE"),
                   help="the resources `provision` made")
    add_campaign_arguments(p, "ingest processes at once")
    args = p.parse_args()
    rng = random.Random(args.seed)
    upstream = int(urllib.parse.urlsplit(args.endpoint).port)
    kw = dict(endpoint_url=args.endpoint, region_name=REGION,
              aws_access_key_id="local", aws_secret_access_key="local")
    s3, sqs, dynamodb = boto3.client("s3", **kw), boto3.client("sqs", **kw), boto3.client("dynamodb", **kw)
    uploads, output, table, queue_name = args.names
    res = {
        "uploads_bucket": uploads, "output_bucket": output, "table": table,
        "ingest_queue_url": sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
        "cleanup_queue_url": sqs.get_queue_url(QueueName=f"{queue_name}-removed")["QueueUrl"],
    }
    photos = [open(f, "rb").read() for f in args.photos]
    # The traffic sends S3's notifications itself, in S3's shape (see `traffic`).
    s3.put_bucket_notification_configuration(Bucket=uploads, NotificationConfiguration={})

    # Dead-letter queues, as the CDK app configures them.
    res["dead_letters"] = []
    for name in ("ingest_queue_url", "cleanup_queue_url"):
        dlq = sqs.create_queue(QueueName=res[name].rsplit("/", 1)[1] + "-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=res[name], Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": str(MAX_RECEIVES)})})
        res["dead_letters"].append((dlq, res[name]))

    fault_rate = [args.faults]
    proxy = make_proxy(upstream, fault_rate, args.seed)
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    env = dict(os.environ, AWS_ENDPOINT_URL=proxy_url, AWS_REGION=REGION,
               AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_LOG_STREAM_NAME="campaign", AWS_LAMBDA_LOG_FORMAT="JSON",
               PICTOR_OUTPUT_BUCKET=res["output_bucket"], PICTOR_TABLE=res["table"],
               PICTOR_UPLOAD_PREFIX="uploads/", PICTOR_SPEC=SPEC, PICTOR_ENCODE_THREADS="1",
               PICTOR_MAX_RECEIVES=str(MAX_RECEIVES),
               RUST_LOG="warn")
    hosts = []
    instances = [("ingest", "ingest_queue_url")] * args.concurrency + [("cleanup", "cleanup_queue_url")]
    for n, (name, queue_key) in enumerate(instances):
        fenv = dict(env, AWS_LAMBDA_FUNCTION_NAME=f"pictor-{name}",
                    AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/pictor-{name}")
        hosts.append(Host(name, n, os.path.join(args.bin, "examples", "lambda_host"),
                          os.path.join(args.bin, f"pictor-{name}"), res[queue_key], args.endpoint,
                          fenv, args.logs, args.duplicates, rng.randrange(2**32)))

    storm_on = threading.Event()
    storm_on.set()

    def storm():
        srng = random.Random(args.seed + 1)
        while storm_on.is_set():
            time.sleep(srng.uniform(0.5, 1.5) * args.kill_every)
            if storm_on.is_set():
                srng.choice(hosts).kill_function()

    started = time.time()
    if args.kill_every > 0:
        threading.Thread(target=storm, daemon=True).start()
    queues = {"created": res["ingest_queue_url"], "removed": res["cleanup_queue_url"]}

    def notify(kind, body):
        sqs.send_message(QueueUrl=queues[kind], MessageBody=body)

    traffic(args, s3, res["uploads_bucket"], notify, photos, rng)
    log(f"traffic sent in {time.time() - started:.1f} s; draining")
    # Kills go on while the queues drain: recovery is what is under test.
    drain_limit = 600 + 2 * (args.uploads + args.overwrites)
    wait_drained(sqs, [res["ingest_queue_url"], res["cleanup_queue_url"]], drain_limit)
    storm_on.clear()
    elapsed = time.time() - started
    log(f"drained in {elapsed:.1f} s; checking, then redriving the dead letters")

    def state(strict):
        records = all_records(dynamodb, res["table"])
        return check(s3, records, res["uploads_bucket"], res["output_bucket"], strict)

    under_faults = state(strict=False)
    dead = redrive(sqs, dynamodb, res)
    log(f"{dead['dead_letters']} dead letters redriven, faults off")
    fault_rate[0] = 0.0
    wait_drained(sqs, [res["ingest_queue_url"], res["cleanup_queue_url"]], drain_limit)
    for host in hosts:
        host.stop()

    figures = {
        "scale": {k: getattr(args, k) for k in ("uploads", "overwrites", "deletes", "faults",
                                                  "kill_every", "duplicates", "concurrency",
                                                  "seed")},
        "seconds_under_faults": round(elapsed, 1),
        "counts": COUNTS.snapshot(),
    }
    reconcile = [os.path.join(args.bin, "pictor"), "reconcile", "--table", res["table"],
                 "--bucket", res["uploads_bucket"], "--output-bucket", res["output_bucket"],
                 "--grace", "0s"]
    conclude(args, figures, started, state, lambda: all_records(dynamodb, res["table"]),
             res["uploads_bucket"], under_faults, dead,
             reconcile, dict(env, AWS_ENDPOINT_URL=args.endpoint))


if __name__ == "__main__":
    main()
