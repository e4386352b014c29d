#!/usr/bin/env bash
# KIP-848 (group.protocol=consumer) against tansu 0.6.  Usage: ./repro-kip848.sh PORT
cd "$(dirname "$0")"; B=target/debug/tansu-groups; P=$1; BR=127.0.0.1:$P; D=run-repro-kip848
./broker.sh repro-kip848 $P >/dev/null
$B setup $BR t12 12 5 > $D/setup.log
# session.timeout.ms and heartbeat.interval.ms must be unset with group.protocol=consumer (key=- removes them).
$B member $BR g848 t12 K 15 group.protocol=consumer session.timeout.ms=- heartbeat.interval.ms=- debug=cgrp > $D/K.log 2>&1
grep -h -E "CREATE|not supported|rdkafka ERROR|\] (PRE|POST) |first message|exiting" $D/K.log | grep -v "Debug \(FETCH\|OFFSET\)" | sort | uniq -c | sort -rn | head -15 | cut -c1-250
kill $(cat $D/tansu.pid)
