"""The sink's Python peer for `make bench` (bench/sink.py): a confluent-kafka
consumer + boto3 writing the same objects as `crawlhost sink` with the
default partitioner, the way a hand-written Python exporter would.

Every partition of the topic is read from the group's committed offset (or
the beginning) to the end offset it had at start. Records are buffered per
Kafka partition; every `--flush-size` records become one object
`<topics-dir>/<topic>/partition=<p>/<topic>+<p>+<start offset, 10 digits>.json`
(`.json.gz` with `--compression gzip`, level 6 like the sink's default),
one JSON value per line with a trailing newline, uploaded with one PUT
(multipart above 25 MiB, boto3's transfer manager), then the offset is
committed. The remainder of every partition is written at the end, as the
sink's `--once` does.

Prints one JSON object: records, objects, value bytes, seconds."""

import argparse
import gzip
import io
import json
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--topics-dir", default="topics")
    ap.add_argument("--flush-size", type=int, required=True)
    ap.add_argument("--compression", choices=["none", "gzip"], default="none")
    args = ap.parse_args()

    started = time.monotonic()
    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    transfer = TransferConfig(multipart_threshold=25 * 1024 * 1024, multipart_chunksize=25 * 1024 * 1024)
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    meta = consumer.list_topics(args.topic, timeout=10)
    partitions = sorted(meta.topics[args.topic].partitions)
    ends = {}
    for p in partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)
        ends[p] = high
    committed = consumer.committed([TopicPartition(args.topic, p) for p in partitions], timeout=10)
    assign = []
    position = {}
    for tp in committed:
        start = tp.offset if tp.offset >= 0 else 0
        position[tp.partition] = start
        if start < ends[tp.partition]:
            assign.append(TopicPartition(args.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))
    consumer.assign(assign)

    ext = "json.gz" if args.compression == "gzip" else "json"
    buffers = {p: [] for p in partitions}
    starts = {p: position[p] for p in partitions}
    stats = {"records": 0, "objects": 0, "value_bytes": 0}

    def flush(p):
        lines = buffers[p]
        if not lines:
            return
        start = starts[p]
        body = b"\n".join(lines) + b"\n"
        if args.compression == "gzip":
            body = gzip.compress(body, compresslevel=6)
        key = f"{args.topics_dir}/{args.topic}/partition={p}/{args.topic}+{p}+{start:010d}.{ext}"
        s3.upload_fileobj(io.BytesIO(body), args.bucket, key, Config=transfer)
        nxt = start + len(lines)
        consumer.commit(offsets=[TopicPartition(args.topic, p, nxt)], asynchronous=False)
        stats["records"] += len(lines)
        stats["objects"] += 1
        buffers[p] = []
        starts[p] = nxt

    left = {tp.partition for tp in assign}
    idle_since = time.monotonic()
    while left:
        msgs = consumer.consume(num_messages=1000, timeout=0.5)
        if not msgs:
            if time.monotonic() - idle_since > 60:
                sys.exit(f"no records for 60 s; unfinished partitions {sorted(left)}")
            continue
        idle_since = time.monotonic()
        for m in msgs:
            if m.error():
                sys.exit(f"consume: {m.error()}")
            p = m.partition()
            value = m.value() or b""
            # The same check as the sink: the value must be JSON.
            json.loads(value)
            buffers[p].append(value)
            stats["value_bytes"] += len(value)
            if len(buffers[p]) >= args.flush_size:
                flush(p)
            if m.offset() + 1 >= ends[p]:
                left.discard(p)
    for p in partitions:
        flush(p)
    consumer.close()
    stats["seconds"] = time.monotonic() - started
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
