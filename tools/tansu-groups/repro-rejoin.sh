#!/usr/bin/env bash
# Workaround check: A, B, C (eager); SIGKILL C -> C's partitions orphaned (tansu 0.6);
# 12 s later A alone leaves and rejoins (unsubscribe + subscribe).  Does that hand
# every partition out again?  Usage: ./repro-rejoin.sh NAME PORT
cd "$(dirname "$0")"; B=target/debug/tansu-groups; N=$1; P=$2; shift 2
BR=127.0.0.1:$P; ./broker.sh $N $P >/dev/null; D=run-$N
ev() { echo "$(date +%T.%3N) $*" >> $D/events.log; }
$B setup $BR t12 12 5 > $D/setup.log
REJOIN_FILE=$D/rejoin-A $B member $BR g1 t12 A 45 "$@" > $D/A.log 2>&1 &
sleep 2; $B member $BR g1 t12 B 45 "$@" > $D/B.log 2>&1 &
sleep 2; $B member $BR g1 t12 C 0 "$@" > $D/C.log 2>&1 & CPID=$!
sleep 8; ev "kill -9 C"; kill -9 $CPID
sleep 14; ev "ask A to rejoin"; touch $D/rejoin-A
sleep 8; $B produce $BR t12 12 5 >> $D/setup.log; ev produced
wait
grep -h -E "\] POST |REJOIN" $D/[ABC].log | cat - $D/events.log | sort | sed -E 's/ -> assignment now/ ->/' | cut -c1-120
python3 check.py $D
kill $(cat $D/tansu.pid)
