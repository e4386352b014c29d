#!/usr/bin/env bash
# Minimal repro: eager (default range,roundrobin) group of A (leader) + B on 12
# partitions; SIGKILL B.  After B's session expires A rejoins but gets only its own
# old 6 partitions back; B's 6 stay unowned until another member joins (C at +25 s).
# Usage: ./repro-sigkill.sh NAME PORT [extra k=v ...]
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
ev() { echo "$(date +%T.%3N) $*" >> $D/events.log; }
$B setup $BR t12 12 5 > $D/setup.log
$B member $BR g1 t12 A 50 "$@" > $D/A.log 2>&1 &
sleep 2; $B member $BR g1 t12 B 0 "$@" > $D/B.log 2>&1 & BPID=$!
sleep 8; ev "kill -9 B"; kill -9 $BPID
sleep 15; ev "start C"; $B member $BR g1 t12 C 20 "$@" > $D/C.log 2>&1 &
wait
grep -h -E "\] POST " $D/[ABC].log | cat - $D/events.log | sort | sed -E 's/ -> assignment now/ ->/' | cut -c1-120
grep -h "missed heartbeat for" $D/tansu.log | sed 's/\x1b\[[0-9;]*m//g' | grep -o "missed heartbeat for.*" | head -2
kill $(cat $D/tansu.pid)
