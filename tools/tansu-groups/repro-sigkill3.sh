#!/usr/bin/env bash
# A, B, C (eager) on 12 partitions; SIGKILL C; A and B survive.  With HEAL=1 in the
# environment the members leave+rejoin when a rebalance hands back the same set.
# Usage: [HEAL=1] ./repro-sigkill3.sh NAME PORT [extra k=v ...]
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
ev() { echo "$(date +%T.%3N) $*" >> $D/events.log; }
$B setup $BR t12 12 5 > $D/setup.log
$B member $BR g1 t12 A 45 "$@" > $D/A.log 2>&1 &
sleep 2; $B member $BR g1 t12 B 45 "$@" > $D/B.log 2>&1 &
sleep 2; $B member $BR g1 t12 C 0 "$@" > $D/C.log 2>&1 & CPID=$!
sleep 10; ev "kill -9 C"; kill -9 $CPID
sleep 20; $B produce $BR t12 12 5 >> $D/setup.log; ev produced
wait
grep -h -E "\] POST |HEAL" $D/[ABC].log | cat - $D/events.log | sort | sed -E 's/ -> assignment now/ ->/' | cut -c1-120
python3 check.py $D
$B offsets $BR g1 t12 12 2>/dev/null | head -1
kill $(cat $D/tansu.pid)
