#!/usr/bin/env bash
# Minimal repro: ONE consumer with group.instance.id never holds its partitions for
# more than ~1 s against tansu 0.6 and then livelocks (JoinGroup/SyncGroup
# REBALANCE_IN_PROGRESS every 3 s).  Usage: ./repro-static.sh PORT
cd "$(dirname "$0")"; B=target/debug/tansu-groups; P=$1; BR=127.0.0.1:$P; D=run-repro-static
./broker.sh repro-static $P >/dev/null
$B setup $BR t12 12 20 > $D/setup.log
$B member $BR gs t12 S 25 group.instance.id=s1 debug=cgrp > $D/S.log 2>&1
grep -h -E "\] (PRE|POST) |JoinGroup response|SyncGroup response|heartbeat error|exiting" $D/S.log | cut -c1-200
kill $(cat $D/tansu.pid)
